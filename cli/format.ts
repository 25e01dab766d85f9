import type { AssignmentView, CreatedDevice, DeviceDetails, DeviceList, DeviceView, PatientView, RejectionList, RotateResult } from './api-schemas.js';
import { fields, table } from './table.js';

export const patient = (p: PatientView): string =>
  fields([
    ['Patient', p.id],
    ['Organization', p.organizationId],
    ['Created', p.createdAt],
  ]);

const onlineText = (d: DeviceView): string => `${d.online ? 'yes' : 'no'} (last seen ${d.lastSeenAt ?? 'never'})`;

const deviceFields = (d: DeviceView): (readonly [string, string | null])[] => [
  ['Device', d.id],
  ['Kind', d.kind],
  ['Status', d.revokedAt === null ? d.status : `${d.status} (since ${d.revokedAt})`],
  ['Patient', d.patientId],
  ['Online', onlineText(d)],
  ['Manufacturer', d.manufacturer],
  ['Model', d.model],
  ['Serial', d.serial],
  ['Hub', d.hubId],
  ['Created', d.createdAt],
];

const period = (a: AssignmentView): string => `${a.from} → ${a.to ?? 'now'}`;

export function deviceDetails(d: DeviceDetails): string {
  const history = d.assignments.length === 0 ? '  (never assigned)' : table(['PATIENT', 'PERIOD'], d.assignments.map((a) => [a.patientId, period(a)])).replace(/^/gm, '  ');
  return `${fields(deviceFields(d))}\n\nAssignments:\n${history}`;
}

export function deviceList(l: DeviceList): string {
  if (l.devices.length === 0) return 'No devices.';
  const rows = l.devices.map((d) => [d.id, d.kind, d.status, d.patientId, d.online ? 'yes' : 'no', d.lastSeenAt]);
  const more = l.next === null ? '' : `\n\nMore devices follow: rpm device list --after ${l.next}`;
  return `${table(['ID', 'KIND', 'STATUS', 'PATIENT', 'ONLINE', 'LAST SEEN'], rows)}${more}`;
}

// The secret is set apart on its own line so it is easy to copy, and the warning cannot be missed.
const secretBlock = (secret: string): string => `\n  Secret:  ${secret}\n`;

export function createdDevice(d: CreatedDevice): string {
  const assigned = d.patientId === null ? 'not assigned to a patient' : `assigned to patient ${d.patientId}`;
  return [
    `Device ${d.id} (${d.kind}) registered, ${assigned}.`,
    secretBlock(d.secret),
    'This secret is shown ONLY ONCE: the gateway keeps only a hash of it.',
    `Configure the device with it now. If it is lost, issue a new one: rpm device rotate ${d.id}`,
  ].join('\n');
}

export function rotated(r: RotateResult): string {
  return [
    `New secret for device ${r.id}:`,
    secretBlock(r.secret),
    'This secret is shown ONLY ONCE: the gateway keeps only a hash of it.',
    `The previous secret keeps working until ${r.previousSecretValidUntil}.`,
  ].join('\n');
}

export function rejections(l: RejectionList): string {
  if (l.rejections.length === 0) return 'No rejected readings.';
  return table(
    ['RECEIVED', 'TRANSPORT', 'CODE', 'PATH', 'MESSAGE'],
    l.rejections.map((r) => [r.receivedAt, r.transport, r.code, r.path, r.message]),
  );
}
