import ical, { ICalCalendarMethod, ICalEventClass, ICalEventStatus } from 'ical-generator';
import type { Appointment } from '../../core/model/scheduling.js';
import type { Staff } from '../../core/model/staff.js';

const STATUS: Record<Appointment['status'], ICalEventStatus> = {
  booked: ICalEventStatus.CONFIRMED,
  completed: ICalEventStatus.CONFIRMED,
  'no-show': ICalEventStatus.CONFIRMED,
  cancelled: ICalEventStatus.CANCELLED,
};

/**
 * A staff member's visits as an iCalendar document (RFC 5545) through ical-generator. Calendar
 * apps sync to third-party servers, so an event names no patient and no clinical detail: the
 * visit type, the modality and a link to the dashboard, where the patient is shown after sign-in.
 * UIDs are stable (`<appointment id>@<our host>`) and SEQUENCE follows the appointment's version,
 * so a rescheduled or cancelled visit updates the event in place.
 */
export function appointmentCalendar(input: {
  staff: Staff;
  appointments: readonly Appointment[];
  typeName: (typeId: string) => string;
  timeZone: string;
  dashboardUrl: string | undefined;
  systemBase: string;
}): string {
  const host = new URL(input.systemBase).host;
  const cal = ical({
    name: 'RPM visits',
    prodId: { company: 'rpm-gateway', product: 'visits', language: 'EN' },
    method: ICalCalendarMethod.PUBLISH,
    timezone: null,
    ttl: 15 * 60,
  });
  for (const a of input.appointments) {
    const type = input.typeName(a.typeId);
    const modality = a.modality === 'in-person' ? 'in person' : a.modality;
    cal.createEvent({
      id: `${a.id}@${host}`,
      start: new Date(a.startMs),
      end: new Date(a.endMs),
      stamp: new Date(a.updatedAtMs),
      created: new Date(a.createdAtMs),
      lastModified: new Date(a.updatedAtMs),
      sequence: a.version - 1,
      summary: a.status === 'no-show' ? `${type} (${modality}, no-show)` : `${type} (${modality})`,
      description: 'Patient details in the RPM dashboard after sign-in.',
      status: STATUS[a.status],
      class: ICalEventClass.PRIVATE,
      ...(input.dashboardUrl === undefined ? {} : { url: `${input.dashboardUrl}/#/visits/${encodeURIComponent(a.id)}` }),
    });
  }
  return cal.toString();
}
