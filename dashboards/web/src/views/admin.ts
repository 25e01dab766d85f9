import { seg } from '../api.js';
import type { AppContext } from '../context.js';
import { focusHeading, h } from '../dom.js';
import { ago } from '../format.js';
import type { RosterResponse, RosterRow } from '../types.js';
import { wallTimeInput } from '../zoned-time.js';
import { field, openDialog } from './dialog.js';
import type { View } from './view.js';

interface StaffView {
  readonly id: string;
  readonly email: string;
  readonly role: 'nurse' | 'physician' | 'admin';
  readonly organizationId: string;
  readonly displayName: string | null;
  readonly isChargeNurse: boolean;
  readonly status: 'active' | 'disabled';
  readonly phone: string | null;
}
interface TeamView {
  readonly id: string;
  readonly name: string;
  readonly members: readonly StaffView[];
  readonly patients: readonly string[];
}
interface FleetDevice {
  readonly id: string;
  readonly kind: string;
  readonly manufacturer: string | null;
  readonly model: string | null;
  readonly status: 'active' | 'revoked';
  readonly patientId: string | null;
  readonly viaHub: string | null;
  readonly transmission: 'transmitting' | 'not-transmitting' | 'never-seen' | 'revoked';
  readonly lastContactAt: string | null;
  readonly batteryPercent: number | null;
  readonly lowBattery: boolean;
  readonly assignments: readonly { readonly patientId: string; readonly from: string; readonly to: string | null }[];
}
interface CarePlanView {
  readonly version: number;
  readonly savedBy: string | null;
  readonly savedAt: string | null;
  readonly plan: {
    readonly programs: readonly string[];
    readonly overrides: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
    readonly overrideReasons: Readonly<Record<string, string>>;
    readonly riskTier: number;
    readonly disabledRules: readonly string[];
  } & Record<string, unknown>;
  readonly display: { readonly rules: readonly { readonly id: string; readonly title: string; readonly universal: boolean }[] };
}

const SECTIONS: readonly [string, string][] = [
  ['staff', 'Staff'],
  ['teams', 'Care teams'],
  ['patients', 'Patients'],
  ['devices', 'Devices'],
  ['care-plans', 'Care plans'],
];
const PROGRAMS = ['hypertension', 'heart-failure', 'diabetes', 'copd'] as const;
const DEVICE_KINDS = ['bp-cuff', 'pulse-oximeter', 'scale', 'glucometer', 'cgm', 'thermometer', 'heart-rate-monitor', 'multi-parameter'] as const;
const TRANSMISSION_TEXT = { transmitting: 'Transmitting', 'not-transmitting': 'Not transmitting', 'never-seen': 'Never seen', revoked: 'Revoked' } as const;
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function input(attrs: Record<string, string | number | boolean | undefined>): HTMLInputElement {
  return h('input', attrs) as HTMLInputElement;
}
function select(name: string, options: readonly [string, string][], chosen = ''): HTMLSelectElement {
  return h('select', { name }, options.map(([v, t]) => h('option', { value: v, selected: v === chosen }, t))) as HTMLSelectElement;
}
function checkbox(label: string, checked: boolean): { el: HTMLElement; box: HTMLInputElement } {
  const box = input({ type: 'checkbox', checked });
  const id = `chk-${Math.random().toString(36).slice(2)}`;
  box.id = id;
  return { box, el: h('div', { class: 'field' }, h('span', { class: 'check' }, box, h('label', { for: id }, label))) };
}
/** A `datetime-local` value in the organization's zone → an ISO instant (the browser's zone is not the clinic's). */
function instantOf(local: string, timeZone: string): string {
  const guess = Date.parse(`${local}:00Z`);
  const offsetMs = Date.parse(`${wallTimeInput(guess, timeZone)}:00Z`) - guess;
  return new Date(guess - offsetMs).toISOString();
}

/**
 * The organization admin's screens: staff, care teams, patients (enrolment, devices with time
 * ranges), the device fleet and care plans (overrides with who, when and why). Each section is a
 * route (`#/admin/staff` …) and uses the gateway's API as any client would.
 */
export class AdminView implements View {
  readonly title: string;
  private readonly body = h('div', { class: 'admin-body' });
  private readonly section: string;
  private seq = 0;

  constructor(
    private readonly ctx: AppContext,
    section: string,
  ) {
    this.section = SECTIONS.some(([k]) => k === section) ? section : 'staff';
    this.title = `Administration: ${SECTIONS.find(([k]) => k === this.section)?.[1] ?? ''}`;
  }

  mount(main: HTMLElement): void {
    main.append(
      h('div', { class: 'view-head' }, h('h1', null, this.title)),
      h(
        'nav',
        { class: 'subnav', 'aria-label': 'Administration' },
        SECTIONS.map(([k, t]) => h('a', { href: `#/admin/${k}`, 'aria-current': k === this.section ? 'page' : undefined }, t)),
      ),
      this.body,
    );
    focusHeading(main);
    void this.load();
  }

  destroy(): void {
    this.seq++;
  }

  private get org(): string {
    return this.ctx.me.organizationId;
  }

  private async load(): Promise<void> {
    const seq = ++this.seq;
    try {
      const content = await this.render();
      if (seq === this.seq) this.body.replaceChildren(...content.filter((c): c is HTMLElement => c !== null));
    } catch (err) {
      if (seq === this.seq) this.ctx.showError(`This page could not be loaded: ${message(err)}`);
    }
  }

  private render(): Promise<(HTMLElement | null)[]> {
    switch (this.section) {
      case 'teams':
        return this.teams();
      case 'patients':
        return this.patients();
      case 'devices':
        return this.devices();
      case 'care-plans':
        return this.carePlans();
      default:
        return this.staff();
    }
  }

  private button(label: string, sr: string | null, onClick: () => void, cls = 'small'): HTMLButtonElement {
    const b = h('button', { type: 'button', class: cls }, label, sr === null ? null : h('span', { class: 'sr-only' }, ` ${sr}`)) as HTMLButtonElement;
    b.addEventListener('click', onClick);
    return b;
  }

  /** A dialog whose submit runs `act`; on success the section reloads and `done` is announced. */
  private dialog(title: string, fields: HTMLElement[], submitLabel: string, act: () => Promise<unknown>, done: string, description?: string): void {
    const error = h('p', { class: 'error', role: 'alert' });
    openDialog({
      title,
      ...(description === undefined ? {} : { description }),
      fields: [...fields, error],
      submitLabel,
      onSubmit: async () => {
        try {
          await act();
          this.ctx.announce(done);
          void this.load();
          return true;
        } catch (err) {
          error.textContent = message(err);
          return false;
        }
      },
    });
  }

  private async staff(): Promise<HTMLElement[]> {
    const { staff } = await this.ctx.api.get<{ staff: StaffView[] }>(`/v1/admin/organizations/${seg(this.org)}/staff`);
    const invite = this.button('Add staff member', null, () => this.inviteDialog(), 'primary');
    return [
      h('div', { class: 'toolbar' }, invite),
      h(
        'table',
        { class: 'roster admin-table' },
        h('caption', { class: 'sr-only' }, 'Staff of the organization'),
        h('thead', null, h('tr', null, ['Name', 'Email', 'Role', 'Charge nurse', 'Phone (SMS)', 'Status', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          null,
          staff.map((s) => {
            const name = s.displayName ?? s.email;
            return h(
              'tr',
              { 'data-row': s.id },
              h('th', { scope: 'row', 'data-label': 'Name' }, name),
              h('td', { 'data-label': 'Email' }, s.email),
              h('td', { 'data-label': 'Role' }, s.role),
              h('td', { 'data-label': 'Charge nurse' }, s.isChargeNurse ? 'Yes' : 'No'),
              h('td', { 'data-label': 'Phone (SMS)' }, s.phone ?? h('span', { class: 'muted' }, 'none')),
              h('td', { 'data-label': 'Status' }, s.status === 'active' ? 'Active' : h('strong', null, 'Disabled')),
              h(
                'td',
                { 'data-label': 'Actions' },
                h(
                  'div',
                  { class: 'actions' },
                  this.button('Edit', name, () => this.editStaffDialog(s)),
                  s.id === this.ctx.me.id
                    ? null
                    : this.button(s.status === 'active' ? 'Disable' : 'Enable', name, () =>
                        void this.ctx.api
                          .post(`/v1/admin/staff/${seg(s.id)}/${s.status === 'active' ? 'disable' : 'enable'}`)
                          .then(() => {
                            this.ctx.announce(`${name} ${s.status === 'active' ? 'disabled; their sessions ended' : 'enabled'}.`);
                            void this.load();
                          })
                          .catch((err: unknown) => this.ctx.showError(message(err))),
                      ),
                ),
              ),
            );
          }),
        ),
      ),
    ];
  }

  private inviteDialog(): void {
    const email = input({ type: 'email', required: true, autocomplete: 'off' });
    const name = input({ type: 'text', required: true });
    const role = select('role', [
      ['nurse', 'Nurse'],
      ['physician', 'Physician'],
      ['admin', 'Organization admin'],
    ]);
    const password = input({ type: 'password', required: true, minlength: 12, autocomplete: 'new-password' });
    const charge = checkbox('Charge nurse (receives escalations)', false);
    const phone = input({ type: 'tel', placeholder: '+15551234567' });
    this.dialog(
      'Add staff member',
      [field('Email', email), field('Name', name), field('Role', role), field('First password', password, 'At least 12 characters; give it to them in person'), charge.el, field('Phone for SMS (E.164)', phone)],
      'Add',
      () =>
        this.ctx.api.post('/v1/admin/staff', {
          email: email.value,
          displayName: name.value,
          role: role.value,
          password: password.value,
          organizationId: this.org,
          isChargeNurse: charge.box.checked,
          ...(phone.value === '' ? {} : { phone: phone.value }),
        }),
      `${name.value || 'The staff member'} was added.`,
    );
  }

  private editStaffDialog(s: StaffView): void {
    const role = select(
      'role',
      [
        ['nurse', 'Nurse'],
        ['physician', 'Physician'],
        ['admin', 'Organization admin'],
      ],
      s.role,
    );
    const charge = checkbox('Charge nurse (receives escalations)', s.isChargeNurse);
    const phone = input({ type: 'tel', value: s.phone ?? '', placeholder: '+15551234567' });
    const name = input({ type: 'text', value: s.displayName ?? '' });
    this.dialog(
      `Edit ${s.displayName ?? s.email}`,
      [field('Name', name), field('Role', role), charge.el, field('Phone for SMS (E.164)', phone, 'Empty removes it')],
      'Save',
      () =>
        this.ctx.api.call('PATCH', `/v1/admin/staff/${seg(s.id)}`, {
          role: role.value,
          isChargeNurse: charge.box.checked,
          phone: phone.value === '' ? null : phone.value,
          ...(name.value === '' ? {} : { displayName: name.value }),
        }),
      'Saved.',
    );
  }

  private async teams(): Promise<HTMLElement[]> {
    const [{ teams }, { staff }] = await Promise.all([
      this.ctx.api.get<{ teams: TeamView[] }>(`/v1/admin/organizations/${seg(this.org)}/care-teams`),
      this.ctx.api.get<{ staff: StaffView[] }>(`/v1/admin/organizations/${seg(this.org)}/staff`),
    ]);
    const create = this.button('New care team', null, () => {
      const id = input({ type: 'text', required: true, pattern: '[A-Za-z0-9][A-Za-z0-9._:\\-]*' });
      const name = input({ type: 'text', required: true });
      this.dialog('New care team', [field('Team id', id, 'Letters, digits, . _ : -'), field('Name', name)], 'Create', () => this.ctx.api.post('/v1/admin/care-teams', { id: id.value, name: name.value, organizationId: this.org }), 'Care team created.');
    }, 'primary');
    if (teams.length === 0) return [h('div', { class: 'toolbar' }, create), h('p', { class: 'empty' }, 'No care teams yet: every nurse sees every patient of the organization.')];
    return [
      h('div', { class: 'toolbar' }, create),
      ...teams.map((t) =>
        h(
          'section',
          { class: 'panel team', 'aria-labelledby': `team-${t.id}` },
          h('h2', { id: `team-${t.id}` }, t.name),
          h(
            'div',
            { class: 'team-grid' },
            h(
              'div',
              null,
              h('h3', null, 'Members'),
              h(
                'ul',
                { class: 'plain' },
                t.members.map((m) =>
                  h('li', null, `${m.displayName ?? m.email} (${m.role}) `, this.button('Remove', `${m.displayName ?? m.email} from ${t.name}`, () => void this.act(this.ctx.api.del(`/v1/admin/care-teams/${seg(t.id)}/members/${seg(m.id)}`), 'Removed.'))),
                ),
              ),
              this.button('Add member', `to ${t.name}`, () => {
                const who = select(
                  'staffId',
                  staff.filter((s) => s.status === 'active' && !t.members.some((m) => m.id === s.id)).map((s): [string, string] => [s.id, `${s.displayName ?? s.email} (${s.role})`]),
                );
                this.dialog(`Add a member to ${t.name}`, [field('Staff member', who)], 'Add', () => this.ctx.api.post(`/v1/admin/care-teams/${seg(t.id)}/members`, { staffId: who.value }), 'Member added.');
              }),
            ),
            h(
              'div',
              null,
              h('h3', null, 'Patients'),
              h(
                'ul',
                { class: 'plain' },
                t.patients.map((p) => h('li', null, `Patient ${p} `, this.button('Remove', `patient ${p} from ${t.name}`, () => void this.act(this.ctx.api.del(`/v1/admin/care-teams/${seg(t.id)}/patients/${seg(p)}`), 'Removed.')))),
              ),
              this.button('Add patient', `to ${t.name}`, () => {
                const id = input({ type: 'text', required: true });
                this.dialog(`Add a patient to ${t.name}`, [field('Patient id', id)], 'Add', () => this.ctx.api.post(`/v1/admin/care-teams/${seg(t.id)}/patients`, { patientId: id.value }), 'Patient added.');
              }),
            ),
          ),
        ),
      ),
    ];
  }

  private async act(p: Promise<unknown>, done: string): Promise<void> {
    try {
      await p;
      this.ctx.announce(done);
      void this.load();
    } catch (err) {
      this.ctx.showError(message(err));
    }
  }

  private async roster(): Promise<readonly RosterRow[]> {
    return (await this.ctx.api.get<RosterResponse>('/v1/roster', { sort: 'patient' })).rows;
  }

  private async patients(): Promise<HTMLElement[]> {
    const [rows, { devices }] = await Promise.all([this.roster(), this.ctx.api.get<{ devices: FleetDevice[] }>('/v1/org/devices')]);
    const enroll = this.button('Enroll patient', null, () => this.enrollDialog(), 'primary');
    return [
      h('div', { class: 'toolbar' }, enroll),
      h(
        'table',
        { class: 'roster admin-table' },
        h('caption', { class: 'sr-only' }, 'Patients of the organization'),
        h('thead', null, h('tr', null, ['Patient', 'Programs', 'Care teams', 'Devices', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          null,
          rows.map((r) => {
            const label = r.identity?.name ?? `Patient ${r.patientId}`;
            const mine = devices.filter((d) => d.patientId === r.patientId);
            return h(
              'tr',
              { 'data-row': r.patientId },
              h('th', { scope: 'row', 'data-label': 'Patient' }, h('a', { href: `#/patients/${seg(r.patientId)}` }, label), r.identity === null ? null : h('div', { class: 'muted small' }, `id ${r.patientId}`)),
              h('td', { 'data-label': 'Programs' }, r.programs.join(', ')),
              h('td', { 'data-label': 'Care teams' }, r.careTeams.map((t) => t.name).join(', ') || h('span', { class: 'muted' }, 'none')),
              h(
                'td',
                { 'data-label': 'Devices' },
                mine.length === 0
                  ? h('span', { class: 'muted' }, 'none')
                  : h(
                      'ul',
                      { class: 'plain' },
                      mine.map((d) => {
                        const since = d.assignments.find((a) => a.to === null)?.from;
                        return h('li', null, `${d.id} (${d.kind}) since ${since === undefined ? '?' : new Date(since).toLocaleDateString()} `, this.button('Unassign', `${d.id} from ${label}`, () => this.unassignDialog(d)));
                      }),
                    ),
              ),
              h('td', { 'data-label': 'Actions' }, this.button('Assign device', `to ${label}`, () => this.assignDialog(r.patientId, label, devices))),
            );
          }),
        ),
      ),
    ];
  }

  private enrollDialog(): void {
    const id = input({ type: 'text', required: true, pattern: '[A-Za-z0-9][A-Za-z0-9._:\\-]*' });
    const programs = PROGRAMS.map((p) => ({ p, ...checkbox(p, false) }));
    const risk = select('riskTier', [
      ['1', 'Tier 1'],
      ['2', 'Tier 2'],
      ['3', 'Tier 3'],
    ]);
    const consent = checkbox('Telehealth consent obtained', false);
    const method = select('method', [
      ['verbal', 'Verbal'],
      ['written', 'Written'],
      ['electronic', 'Electronic'],
    ]);
    this.dialog(
      'Enroll a patient',
      [field('Patient id', id, 'An opaque id (no names): letters, digits, . _ : -'), h('fieldset', { class: 'programs' }, h('legend', null, 'Programs (general always applies)'), programs.map((x) => x.el)), field('Risk tier', risk), consent.el, field('Consent obtained', method)],
      'Enroll',
      async () => {
        await this.ctx.api.post('/v1/org/patients', { id: id.value });
        await this.ctx.api.put(`/v1/patients/${seg(id.value)}/care-plan`, { programs: ['general', ...programs.filter((x) => x.box.checked).map((x) => x.p)], riskTier: Number(risk.value) });
        if (consent.box.checked) await this.ctx.api.post(`/v1/patients/${seg(id.value)}/consents/telehealth`, { granted: true, method: method.value });
      },
      'Patient enrolled.',
    );
  }

  private assignDialog(patientId: string, label: string, devices: readonly FleetDevice[]): void {
    const device = input({ type: 'text', required: true, list: 'fleet-ids' });
    const list = h('datalist', { id: 'fleet-ids' }, devices.map((d) => h('option', { value: d.id }, `${d.kind}${d.patientId === null ? ', unassigned' : `, with ${d.patientId}`}`)));
    const tz = this.ctx.display.settings.effective.timeZone;
    const from = input({ type: 'datetime-local', required: true, value: wallTimeInput(Date.now(), tz) });
    this.dialog(
      `Assign a device to ${label}`,
      [field('Device id', device, 'A device of the organization (it moves from its current patient at that time)'), list, field(`From (${tz})`, from, 'Readings measured from then on are this patient’s')],
      'Assign',
      () => this.ctx.api.post(`/v1/org/devices/${seg(device.value)}/assignments`, { patientId, from: instantOf(from.value, tz) }),
      'Device assigned.',
    );
  }

  private unassignDialog(d: FleetDevice): void {
    const tz = this.ctx.display.settings.effective.timeZone;
    const at = input({ type: 'datetime-local', required: true, value: wallTimeInput(Date.now(), tz) });
    this.dialog(`Unassign ${d.id}`, [field(`Until (${tz})`, at, 'The assignment ends then; its history is kept')], 'Unassign', () => this.ctx.api.post(`/v1/org/devices/${seg(d.id)}/unassign`, { at: instantOf(at.value, tz) }), 'Device unassigned.');
  }

  /** Shown once at the top of the next render (a new device's secret). */
  private notice: string | null = null;

  private async devices(): Promise<(HTMLElement | null)[]> {
    const { devices } = await this.ctx.api.get<{ devices: FleetDevice[] }>('/v1/org/devices');
    const now = Date.now();
    const register = this.button('Register device', null, () => {
      const id = input({ type: 'text', required: true });
      const kind = select('kind', DEVICE_KINDS.map((k): [string, string] => [k, k]));
      const patient = input({ type: 'text', required: true });
      const make = input({ type: 'text' });
      const tz = this.ctx.display.settings.effective.timeZone;
      const from = input({ type: 'datetime-local', required: true, value: wallTimeInput(now, tz) });
      this.dialog('Register a device', [field('Device id', id), field('Kind', kind), field('Patient id', patient), field('Manufacturer', make), field(`Assigned from (${tz})`, from)], 'Register', async () => {
        const res = await this.ctx.api.post<{ secret: string }>('/v1/org/devices', { id: id.value, kind: kind.value, patientId: patient.value, assignedFrom: instantOf(from.value, tz), ...(make.value === '' ? {} : { manufacturer: make.value }) });
        this.notice = `Secret of ${id.value} (shown only now: configure the device with it): ${res.secret}`;
      }, 'Device registered.');
    }, 'primary');
    const notice = this.notice;
    this.notice = null;
    return [
      h('div', { class: 'toolbar' }, register),
      notice === null ? null : h('p', { class: 'notice secret', role: 'status' }, notice),
      devices.length === 0
        ? h('p', { class: 'empty' }, 'No devices yet.')
        : h(
            'table',
            { class: 'roster admin-table' },
            h('caption', { class: 'sr-only' }, 'Device fleet'),
            h('thead', null, h('tr', null, ['Device', 'Patient', 'Status', 'Last contact', 'Battery', 'History'].map((t) => h('th', { scope: 'col' }, t)))),
            h(
              'tbody',
              null,
              devices.map((d) =>
                h(
                  'tr',
                  { 'data-row': d.id, class: d.transmission === 'transmitting' && !d.lowBattery ? undefined : 'device-problem' },
                  h('th', { scope: 'row', 'data-label': 'Device' }, d.id, h('div', { class: 'muted small' }, [d.kind, d.manufacturer, d.model].filter((x) => x !== null).join(' · '), d.viaHub === null ? '' : ` · via hub ${d.viaHub}`)),
                  h('td', { 'data-label': 'Patient' }, d.patientId === null ? h('span', { class: 'muted' }, 'Unassigned') : h('a', { href: `#/patients/${seg(d.patientId)}` }, `Patient ${d.patientId}`)),
                  h('td', { 'data-label': 'Status' }, h('strong', null, TRANSMISSION_TEXT[d.transmission])),
                  h('td', { 'data-label': 'Last contact' }, d.lastContactAt === null ? h('span', { class: 'muted' }, 'never') : ago(d.lastContactAt, now)),
                  h('td', { 'data-label': 'Battery' }, d.batteryPercent === null ? h('span', { class: 'muted' }, 'Unknown') : h('span', { class: d.lowBattery ? 'warn' : undefined }, `${d.batteryPercent} %${d.lowBattery ? ' (low)' : ''}`)),
                  h(
                    'td',
                    { 'data-label': 'History' },
                    h('ul', { class: 'plain small' }, d.assignments.map((a) => h('li', null, `${a.patientId}: ${new Date(a.from).toLocaleString()} – ${a.to === null ? 'now' : new Date(a.to).toLocaleString()}`))),
                  ),
                ),
              ),
            ),
          ),
    ];
  }

  private async carePlans(): Promise<HTMLElement[]> {
    const rows = await this.roster();
    const plans = await Promise.all(rows.map(async (r) => ({ r, plan: await this.ctx.api.get<CarePlanView>(`/v1/patients/${seg(r.patientId)}/care-plan`) })));
    return [
      h('p', { class: 'hint' }, 'Program defaults apply to every patient of a program; an override changes one rule for one patient and always says why. Nurses see each override, its reason, who saved it and when, with the patient’s rules.'),
      h(
        'table',
        { class: 'roster admin-table' },
        h('caption', { class: 'sr-only' }, 'Care plans and overrides'),
        h('thead', null, h('tr', null, ['Patient', 'Programs', 'Overrides (why)', 'Saved', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          null,
          plans.map(({ r, plan }) => {
            const label = r.identity?.name ?? `Patient ${r.patientId}`;
            const overridden = [...new Set([...Object.keys(plan.plan.overrides), ...plan.plan.disabledRules])];
            return h(
              'tr',
              { 'data-row': r.patientId },
              h('th', { scope: 'row', 'data-label': 'Patient' }, label),
              h('td', { 'data-label': 'Programs' }, `${plan.plan.programs.join(', ')} · risk tier ${plan.plan.riskTier}`),
              h(
                'td',
                { 'data-label': 'Overrides (why)' },
                overridden.length === 0
                  ? h('span', { class: 'muted' }, 'Program defaults')
                  : h(
                      'ul',
                      { class: 'plain' },
                      overridden.map((id) =>
                        h('li', null, h('strong', null, id), plan.plan.disabledRules.includes(id) ? ' disabled' : ` ${JSON.stringify(plan.plan.overrides[id])}`, h('div', { class: 'small' }, `Why: ${plan.plan.overrideReasons[id] ?? 'no reason recorded'}`)),
                      ),
                    ),
              ),
              h('td', { 'data-label': 'Saved' }, plan.savedAt === null ? h('span', { class: 'muted' }, 'never (defaults)') : `${this.ctx.staffName(plan.savedBy?.replace(/^staff:/, '') ?? null)}, ${new Date(plan.savedAt).toLocaleString()} (version ${plan.version})`),
              h('td', { 'data-label': 'Actions' }, this.button('Override a rule', `for ${label}`, () => this.overrideDialog(r.patientId, label, plan))),
            );
          }),
        ),
      ),
    ];
  }

  private overrideDialog(patientId: string, label: string, current: CarePlanView): void {
    const rule = select('rule', current.display.rules.map((r): [string, string] => [r.id, r.title]));
    const change = h('textarea', { rows: 3, required: true, placeholder: '{"delta": 1.36}' }) as HTMLTextAreaElement;
    const reason = h('textarea', { rows: 2, required: true, maxlength: 500 }) as HTMLTextAreaElement;
    this.dialog(
      `Override a rule for ${label}`,
      [field('Rule', rule), field('Change (JSON, canonical units)', change, 'The rule fields to change, e.g. {"delta": 1.36} for 3 lb instead of 2 lb'), field('Why', reason, 'Shown to nurses with the rule')],
      'Save override',
      async () => {
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(change.value) as Record<string, unknown>;
        } catch {
          throw new Error('The change is not valid JSON');
        }
        const p = current.plan;
        const { ...rest } = p;
        await this.ctx.api.call('PUT', `/v1/patients/${seg(patientId)}/care-plan`, {
          ...rest,
          overrides: { ...p.overrides, [rule.value]: parsed },
          overrideReasons: { ...p.overrideReasons, [rule.value]: reason.value },
        });
      },
      'Override saved.',
    );
  }
}
