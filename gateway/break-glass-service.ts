import { randomUUID } from 'node:crypto';
import { RpmError } from '../core/errors/rpm-error.js';
import type { Logger } from '../core/logging.js';
import type { Staff } from '../core/model/staff.js';
import type { AuditLog } from '../core/ports/audit-log.js';
import type { Clock } from '../core/ports/clock.js';
import type { Notifier } from '../core/ports/notifier.js';
import type { BreakGlassGrant, StaffSecurityStore } from '../core/ports/staff-security-store.js';
import { breakGlassReasonContext, ClinicalText } from '../core/crypto/clinical-text.js';
import type { FieldCipher } from '../core/crypto/field-encryption.js';
import type { AdminActor, EmergencyAccess, StaffService } from './staff-service.js';

export interface BreakGlassOptions {
  /** Longest grant a clinician may ask for. */
  readonly maxMinutes: number;
  /** What a grant lasts when the request names no duration. */
  readonly defaultMinutes: number;
}

export interface BreakGlassDeps {
  readonly store: StaffSecurityStore;
  readonly staff: StaffService;
  readonly patientOrganization: (patientId: string) => Promise<string | null | undefined>;
  readonly audit: AuditLog;
  /** SMS to the organization's admins who have a phone (no PHI in it); absent: audit and review list only. */
  readonly notifier?: Notifier | undefined;
  readonly clock: Clock;
  readonly log: Logger;
  readonly options: BreakGlassOptions;
  /** Seals the reasons at rest (they may describe the patient). */
  readonly cipher?: FieldCipher | undefined;
}

/**
 * Break-glass (HIPAA §164.312(a)(2)(ii), emergency access): a nurse or physician opens one
 * patient of her own organization that is outside her care teams, for a reason she writes, for
 * a limited time. The grant is audited when opened (`break-glass.open`, with the reason), every
 * access under it is audited (`break-glass.access`), it is raised to the organization's admins
 * (their review list, `GET /v1/admin/organizations/{id}/break-glass`, and an SMS to those with a
 * phone), and the dashboard shows a banner while it lasts. Patients of other organizations stay
 * 404 as ever: break-glass never crosses a tenant.
 */
export class BreakGlassService implements EmergencyAccess {
  private readonly text: ClinicalText;

  constructor(private readonly deps: BreakGlassDeps) {
    this.text = new ClinicalText(deps.cipher);
  }

  /** The grant as people read it: its reason opened. */
  private opened = (g: BreakGlassGrant): BreakGlassGrant => ({ ...g, reason: this.text.open(g.reason, breakGlassReasonContext(g.id)) ?? '' });

  async open(staff: Staff, patientId: string, reason: string, minutes: number | undefined, sourceIp: string | null): Promise<BreakGlassGrant> {
    const { store, clock, options } = this.deps;
    if (staff.role === 'admin') throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'break-glass access is for nurses and physicians; administrators already see their organization');
    if ((await this.deps.patientOrganization(patientId)) !== staff.organizationId) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', 'patient not found');
    if (await this.deps.staff.patientInOwnScope(staff, patientId)) throw new RpmError('RPM_ERR_BREAK_GLASS_NOT_NEEDED');
    const now = clock.now();
    const lasting = Math.min(minutes ?? options.defaultMinutes, options.maxMinutes);
    const id = randomUUID();
    const grant = this.opened(
      await store.createBreakGlass({
        id,
        staffId: staff.id,
        organizationId: staff.organizationId,
        patientId,
        reason: this.text.seal(reason, breakGlassReasonContext(id)) ?? '',
        grantedAtMs: now,
        expiresAtMs: now + lasting * 60_000,
      }),
    );
    await this.deps.audit.record({
      atMs: now,
      actor: `staff:${staff.id}`,
      action: 'break-glass.open',
      subject: `patient:${patientId}`,
      outcome: 'success',
      sourceIp,
      // The reason stays in the grant, sealed: it may describe the patient, and the audit log holds references only.
      details: { grantId: grant.id, minutes: lasting, expiresAt: new Date(grant.expiresAtMs).toISOString() },
    });
    await this.raise(grant);
    return grant;
  }

  /** Consulted by StaffService.canSeePatient for a patient outside the scope rule; each use is audited. */
  async allows(staff: Staff, patientId: string): Promise<boolean> {
    if (staff.status !== 'active') return false;
    const now = this.deps.clock.now();
    const grant = await this.deps.store.activeBreakGlass(staff.id, patientId, now);
    if (grant === undefined || grant.organizationId !== staff.organizationId) return false;
    await this.deps.audit.record({
      atMs: now,
      actor: `staff:${staff.id}`,
      action: 'break-glass.access',
      subject: `patient:${patientId}`,
      outcome: 'success',
      sourceIp: null,
      details: { grantId: grant.id },
    });
    return true;
  }

  /** The staff member's grants in force now (the dashboard's banner). */
  async active(staff: Staff): Promise<BreakGlassGrant[]> {
    return (await this.deps.store.activeBreakGlassOf(staff.id, this.deps.clock.now())).map(this.opened);
  }

  /** Ends her own grant before it expires. */
  async end(staff: Staff, grantId: string, sourceIp: string | null): Promise<BreakGlassGrant> {
    const now = this.deps.clock.now();
    if (!(await this.deps.store.endBreakGlass(grantId, staff.id, now))) throw new RpmError('RPM_ERR_BREAK_GLASS_NOT_FOUND');
    const grant = this.opened((await this.deps.store.getBreakGlass(grantId)) as BreakGlassGrant);
    await this.deps.audit.record({ atMs: now, actor: `staff:${staff.id}`, action: 'break-glass.end', subject: `patient:${grant.patientId}`, outcome: 'success', sourceIp, details: { grantId } });
    return grant;
  }

  /** The organization's grants for its admins to review, newest first. */
  async list(organizationId: string, by: AdminActor, unreviewedOnly: boolean): Promise<BreakGlassGrant[]> {
    await this.deps.staff.requireOrganization(organizationId, by);
    return (await this.deps.store.listBreakGlass(organizationId, { unreviewedOnly, limit: 500 })).map(this.opened);
  }

  /** An admin records that she reviewed the grant. */
  async review(organizationId: string, grantId: string, by: AdminActor, sourceIp: string | null): Promise<BreakGlassGrant> {
    await this.deps.staff.requireOrganization(organizationId, by);
    const grant = await this.deps.store.getBreakGlass(grantId);
    if (grant === undefined || grant.organizationId !== organizationId) throw new RpmError('RPM_ERR_BREAK_GLASS_NOT_FOUND');
    const reviewer = by.kind === 'staff' ? `staff:${by.staff.id}` : 'admin';
    const now = this.deps.clock.now();
    if (!(await this.deps.store.reviewBreakGlass(grantId, reviewer, now))) return this.opened(grant);
    await this.deps.audit.record({ atMs: now, actor: reviewer, action: 'break-glass.review', subject: `patient:${grant.patientId}`, outcome: 'success', sourceIp, details: { grantId } });
    return this.opened((await this.deps.store.getBreakGlass(grantId)) as BreakGlassGrant);
  }

  /** Tells the organization's admins: an SMS without PHI to each with a phone, best effort (the review list has it anyway). */
  private async raise(grant: BreakGlassGrant): Promise<void> {
    const admins = await this.deps.staff.organizationAdmins(grant.organizationId);
    const notified: string[] = [];
    if (this.deps.notifier !== undefined) {
      for (const admin of admins) {
        if (admin.phone === null) continue;
        try {
          await this.deps.notifier.sendSms(admin.phone, 'RPM: emergency (break-glass) access was opened in your organization. Review it in the dashboard.', `break-glass:${grant.id}:${admin.id}`);
          notified.push(admin.id);
        } catch (err) {
          this.deps.log.warn({ err, grantId: grant.id }, 'break-glass SMS to an administrator failed; the review list still shows it');
        }
      }
    }
    await this.deps.audit.record({
      atMs: this.deps.clock.now(),
      actor: 'system',
      action: 'break-glass.raised',
      subject: `organization:${grant.organizationId}`,
      outcome: 'success',
      sourceIp: null,
      details: { grantId: grant.id, admins: admins.length, smsSent: notified.length },
    });
  }
}
