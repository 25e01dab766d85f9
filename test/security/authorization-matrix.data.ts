/**
 * The authorization matrix as data: every operation of the OpenAPI document (GET /docs/json) ×
 * every kind of caller × the caller's own organization and another one. The test
 * (authorization-matrix.test.ts) fails for an operation without a row here, for a row whose
 * operation is gone, and for every cell whose answer differs.
 *
 * Callers (all of organization `org-a`, except `anonymous` and `operator`):
 *   anonymous       no Authorization header
 *   device          the device secret of org-a's patient's cuff
 *   operator        RPM_ADMIN_TOKEN (every organization)
 *   orgAdmin        staff role `admin`
 *   nurse           role `nurse`, on care team team-a, which holds the patient
 *   nurseOtherTeam  role `nurse`, on another team of org-a (care-team scoping: not her patient)
 *   chargeNurse     role `nurse` with isChargeNurse, on no team (sees the whole organization)
 *   physician       role `physician`
 *
 * Outcomes:
 *   ok      reached the operation: any answer but 400, 401, 403, 404 and 5xx (a 409 from a second
 *           claim still proves the gate let the caller through; so does a 401 whose code is the
 *           operation's own: RPM_ERR_AUTH_MFA_INVALID for a one-time code the matrix cannot know,
 *           RPM_ERR_SSO_FAILED for a single sign-on hand-off code it cannot have)
 *   pass    like ok, but 400 and 404 allowed too (the operator's routes, where the matrix does not build
 *           a real resource or body: what is checked is that the gate opens, and that everyone else's
 *           is shut)
 *   401 / 403 / 404   exactly that status (404 = hidden: another tenant's, or outside the care team)
 *   gate    past the authentication gate: anything but 401 and 5xx (for a route whose bodies or
 *           fixtures the matrix cannot build; no row uses it today)
 *   denied  401, 403 or 404: routes with their own credentials (vendor webhooks), which none of ours open
 */
export const PRINCIPALS = ['anonymous', 'device', 'operator', 'orgAdmin', 'nurse', 'nurseOtherTeam', 'chargeNurse', 'physician'] as const;
export type Principal = (typeof PRINCIPALS)[number];
export type Outcome = 'ok' | 'pass' | 'gate' | '401' | '403' | '404' | 'denied';
export type Tenant = 'own' | 'other';

export interface Row {
  /** What each caller gets on its own organization's resource (or on the route, when it names none). */
  readonly own: Readonly<Record<Principal, Outcome>>;
  /** On another organization's resource; absent when the route names no organization's resource. */
  readonly other?: Readonly<Record<Principal, Outcome>>;
}

const all = (o: Outcome): Record<Principal, Outcome> => Object.fromEntries(PRINCIPALS.map((p) => [p, o])) as Record<Principal, Outcome>;
const staffRoles = ['orgAdmin', 'nurse', 'nurseOtherTeam', 'chargeNurse', 'physician'] as const;
const withStaff = (base: Outcome, staff: Outcome, extra: Partial<Record<Principal, Outcome>> = {}): Record<Principal, Outcome> => ({
  ...all(base),
  ...Object.fromEntries(staffRoles.map((r) => [r, staff])),
  ...extra,
});

/** No credentials needed (health, metrics without PHI, the FHIR CapabilityStatement, login). */
const PUBLIC: Row = { own: all('ok') };
/** The vendor's own credentials (header key, HMAC, token in the URL...); none of ours open them. */
const VENDOR: Row = { own: all('denied') };
/** Device ingest: the device secret only. */
const DEVICE: Row = { own: { ...all('401'), device: 'ok' } };
/** The operator's admin token only; staff sessions are known callers without the permission. */
const OPERATOR: Row = { own: withStaff('401', '403', { operator: 'pass' }), other: withStaff('401', '403', { operator: 'pass' }) };
/** Creating organizations: the operator only (no tenant). */
const OPERATOR_NO_TENANT: Row = { own: withStaff('401', '403', { operator: 'ok' }) };
/** Organization administration: the operator everywhere, an organization admin in her own organization (404 elsewhere). */
const ORG_ADMIN: Row = {
  own: withStaff('401', '403', { operator: 'ok', orgAdmin: 'ok' }),
  other: withStaff('401', '403', { operator: 'ok', orgAdmin: '404' }),
};
/** A patient's clinical data: staff who may see the patient (care-team scope), 404 for everyone else's. */
const CLINICAL: Row = {
  own: withStaff('401', 'ok', { nurseOtherTeam: '404' }),
  other: withStaff('401', '404'),
};
/** Clinical decisions (observations, whose reading it is): nurses and physicians, not organization admins. */
const CLINICIAN: Row = {
  own: withStaff('401', 'ok', { nurseOtherTeam: '404', orgAdmin: '403' }),
  other: withStaff('401', '404', { orgAdmin: '403' }),
};
/** Reading history: the operator and staff who may see the patient. */
const READINGS: Row = {
  own: withStaff('401', 'ok', { nurseOtherTeam: '404', operator: 'ok' }),
  other: withStaff('401', '404', { operator: 'ok' }),
};
/** Read-back of a FHIR-in Observation: the device that measured it, the operator, staff who may see its patient. */
const FHIR_READ: Row = {
  own: withStaff('401', 'ok', { nurseOtherTeam: '404', operator: 'ok', device: 'ok' }),
  other: withStaff('401', '404', { operator: 'ok', device: '404' }),
};
/** Any staff session, about the caller herself (no other organization's resource named). */
const SESSION: Row = { own: withStaff('401', 'ok') };
/**
 * Break-glass: nurses and physicians open a patient of their organization outside their scope
 * (201), or learn it is in scope (409); administrators are refused; another tenant's is 404.
 */
const BREAK_GLASS: Row = {
  own: withStaff('401', 'ok', { orgAdmin: '403' }),
  other: withStaff('401', '404', { orgAdmin: '403' }),
};
/** Ending one's own grant: only those holding one (the nurses off the patient's team) find it. */
const END_BREAK_GLASS: Row = {
  own: withStaff('401', '404', { nurse: 'ok', nurseOtherTeam: 'ok' }),
  other: withStaff('401', '404'),
};
/** A staff member's own running timer (own) or another organization's nurse's (other). */
const OWN_TIMER: Row = { own: withStaff('401', 'ok'), other: withStaff('401', '404') };

/** Patient identity and consent: the operator, and staff who may see the patient; physicians read but do not record. */
const IDENTITY_READ: Row = { own: withStaff('401', 'ok', { nurseOtherTeam: '404', operator: 'ok' }), other: withStaff('401', '404', { operator: 'ok' }) };
const IDENTITY_WRITE: Row = { own: withStaff('401', 'ok', { nurseOtherTeam: '404', physician: '403', operator: 'ok' }), other: withStaff('401', '404', { operator: 'ok' }) };
/** A staff member's working hours and free slots, named by staff id: hers or a colleague's (own), another organization's (other). */
const STAFF_CALENDAR_READ: Row = { own: withStaff('401', 'ok', { operator: 'ok' }), other: withStaff('401', '404', { operator: 'ok' }) };
const STAFF_CALENDAR_WRITE: Row = { own: withStaff('401', '403', { operator: 'ok', orgAdmin: 'ok' }), other: withStaff('401', '404', { operator: 'ok' }) };
/**
 * An appointment of the patient (booked by the operator with the organization's clinician): staff
 * who may see the patient read, book, move, cancel and close it, whatever their role; another
 * organization's is 404 like a missing one. The operator everywhere (naming the staff member).
 */
const APPOINTMENT: Row = IDENTITY_READ;
/** An organization's appointment types: every staff member reads her own organization's; the operator names one. */
const APPOINTMENT_TYPES_READ: Row = { own: withStaff('401', 'ok', { operator: 'ok' }) };
/** Adding an appointment type: administrators of the organization and the operator; nurses and physicians 403. */
const APPOINTMENT_TYPES_WRITE: Row = { own: withStaff('401', '403', { operator: 'ok', orgAdmin: 'ok' }) };
/** Staff-session only routes about the caller. */
const STAFF_SELF: Row = { own: withStaff('401', 'ok') };

/**
 * Billing (issue 17): the monthly report for physicians and organization admins of the caller's own
 * organization (the route names none); nurses are refused.
 */
const BILLING_REPORT: Row = { own: withStaff('401', '403', { orgAdmin: 'ok', physician: 'ok' }) };
/**
 * Sign-offs and amendments: physicians only. The period key names a patient: the own patient's
 * current management month is still open (409) or not signed (409), so the physician reaches the
 * operation; another organization's patient's period is not found (404). Other roles: 403 first.
 */
const BILLING_PHYSICIAN: Row = { own: withStaff('401', '403', { physician: 'ok' }), other: withStaff('401', '403', { physician: '404' }) };
/** Recording a patient's billing episode: physicians and organization admins who may see the patient. */
const BILLING_EPISODE_WRITE: Row = {
  own: withStaff('401', '403', { orgAdmin: 'ok', physician: 'ok' }),
  other: withStaff('401', '403', { orgAdmin: '404', physician: '404' }),
};
/** An organization admin's own patients and device fleet (issue 17, /v1/org/*): role `admin` only, never the operator's token. */
const ORG_SELF_ADMIN: Row = { own: withStaff('401', '403', { orgAdmin: 'ok' }) };
/** The same on a resource named in the request (a patient, a device): another organization's is 404 for its admin. */
const ORG_SELF_ADMIN_RESOURCE: Row = { own: withStaff('401', '403', { orgAdmin: 'ok' }), other: withStaff('401', '403', { orgAdmin: '404' }) };
/** Whether escalations reach anyone (issue 18): charge nurses and organization admins. */
const ESCALATION_REACH: Row = { own: withStaff('401', '403', { orgAdmin: 'ok', chargeNurse: 'ok' }) };
/**
 * Video visits (issue 16b) named by id: the visit a nurse of the patient's care team started. Staff
 * who may see the patient read it; only clinicians enter it, renew its link or end it (an admin: 403);
 * another organization's visit is 404 for everyone, admins included (visibility is checked first).
 */
const VISIT_READ: Row = CLINICAL;
const VISIT_CLINICIAN: Row = {
  own: withStaff('401', 'ok', { nurseOtherTeam: '404', orgAdmin: '403' }),
  other: withStaff('401', '404'),
};
/** The patient's side of a visit: a link or visit session, none of which any of ours is (404); no credential at all: 401. */
const VISIT_PATIENT_SESSION: Row = { own: { ...all('404'), anonymous: '401' } };

/** Starting single sign-on is public; no organization of the matrix has SSO, so it is 404 for everyone. */
const SSO_START: Row = { own: all('404') };

export const EXPECTED: Readonly<Record<string, Row>> = {
  // Issue 16a (merged from main): patient identity, consent, scheduling.
  'POST /v1/admin/devices/{id}/commands': OPERATOR,
  'GET /v1/patients/{id}/identity': IDENTITY_READ,
  'PUT /v1/patients/{id}/identity': IDENTITY_WRITE,
  'POST /v1/patients/{id}/identity/from-ehr': IDENTITY_WRITE,
  'GET /v1/patients/{id}/header': IDENTITY_READ,
  'POST /v1/patients/{id}/consents/telehealth': IDENTITY_WRITE,
  'GET /v1/patients/{id}/consents/telehealth': IDENTITY_READ,
  'POST /v1/patient-identities/lookup': { own: withStaff('401', 'ok', { operator: '403' }) },
  'PUT /v1/staff/{id}/availability': STAFF_CALENDAR_WRITE,
  'GET /v1/staff/{id}/availability': STAFF_CALENDAR_READ,
  'GET /v1/staff/{id}/free-slots': STAFF_CALENDAR_READ,
  'GET /v1/scheduling/appointment-types': APPOINTMENT_TYPES_READ,
  'POST /v1/scheduling/appointment-types': APPOINTMENT_TYPES_WRITE,
  'POST /v1/appointments': APPOINTMENT,
  'GET /v1/appointments/{id}': APPOINTMENT,
  'POST /v1/appointments/{id}/reschedule': APPOINTMENT,
  'POST /v1/appointments/{id}/cancel': APPOINTMENT,
  'POST /v1/appointments/{id}/no-show': APPOINTMENT,
  'POST /v1/appointments/{id}/complete': APPOINTMENT,
  'GET /v1/patients/{id}/appointments': IDENTITY_READ,
  'GET /v1/me/day': { own: withStaff('401', 'ok', { operator: '403' }) },
  'POST /v1/me/calendar-feed': { own: withStaff('401', 'ok', { operator: '403' }) },
  // Public: the token in the path is the credential (shape and validity tested in gateway/scheduling).
  'GET /v1/calendar/{token}.ics': { own: all('pass') },
  'POST /v1/sms/inbound': VENDOR,

  // Issue 17: billing, roster, organization admin screens, alert-signal settings.
  'PATCH /v1/admin/staff/{id}': ORG_ADMIN,
  'GET /v1/admin/organizations/{id}/staff': ORG_ADMIN,
  'GET /v1/admin/organizations/{id}/care-teams': ORG_ADMIN,
  'GET /v1/billing/report': BILLING_REPORT,
  'GET /v1/billing/report.csv': BILLING_REPORT,
  'POST /v1/billing/sign-offs': BILLING_PHYSICIAN,
  'POST /v1/billing/amendments': BILLING_PHYSICIAN,
  'GET /v1/patients/{id}/billing-episode': CLINICAL,
  'PUT /v1/patients/{id}/billing-episode': BILLING_EPISODE_WRITE,
  'GET /v1/roster': STAFF_SELF,
  'POST /v1/org/patients': ORG_SELF_ADMIN,
  'GET /v1/org/devices': ORG_SELF_ADMIN,
  'POST /v1/org/devices': ORG_SELF_ADMIN_RESOURCE,
  'POST /v1/org/devices/{id}/assignments': ORG_SELF_ADMIN_RESOURCE,
  'POST /v1/org/devices/{id}/unassign': ORG_SELF_ADMIN_RESOURCE,
  'GET /v1/me/alert-settings': SESSION,
  'PUT /v1/me/alert-settings': SESSION,
  // Issue 18: moving a patient to another organization (the operator's), whether escalations reach anyone.
  'PUT /v1/admin/patients/{id}/organization': OPERATOR,
  'GET /v1/escalations/reach': ESCALATION_REACH,
  // Issue 16b: video visits.
  'POST /v1/visits': CLINICIAN,
  'GET /v1/visits': SESSION,
  'GET /v1/patients/{id}/visits': CLINICAL,
  'GET /v1/visits/{id}': VISIT_READ,
  'POST /v1/visits/{id}/join': VISIT_CLINICIAN,
  'POST /v1/visits/{id}/link': VISIT_CLINICIAN,
  'POST /v1/visits/{id}/end': VISIT_CLINICIAN,
  'POST /v1/visit-links/redeem': { own: all('404') },
  'GET /v1/visit-session': VISIT_PATIENT_SESSION,
  // Issue 16: LiveKit's webhooks; this gateway runs the embedded provider, so the route is not enabled (404 for everyone).
  // With RPM_LIVEKIT_WEBHOOKS the signature is the credential (gateway/video/visit-encounters.test.ts).
  'POST /v1/video/livekit/webhook': { own: all('404') },

  'GET /v1/auth/sso/{organizationId}/start': SSO_START,
  'GET /v1/auth/sso/callback': PUBLIC,
  'POST /v1/auth/sso/exchange': PUBLIC,
  'GET /v1/admin/organizations/{id}/sso': ORG_ADMIN,
  'PUT /v1/admin/organizations/{id}/sso': ORG_ADMIN,
  'DELETE /v1/admin/organizations/{id}/sso': ORG_ADMIN,
  'GET /healthz': PUBLIC,
  'GET /readyz': PUBLIC,
  'GET /metrics': PUBLIC,
  'GET /fhir/metadata': PUBLIC,
  'POST /v1/auth/login': PUBLIC,

  'POST /v1/readings': DEVICE,
  'POST /fhir/Observation': DEVICE,
  'POST /fhir/': DEVICE,
  'GET /fhir/Observation/{id}': FHIR_READ,

  'POST /v1/admin/patients': OPERATOR,
  'GET /v1/admin/patients/{id}': OPERATOR,
  'POST /v1/admin/devices': OPERATOR,
  'GET /v1/admin/devices': OPERATOR,
  'GET /v1/admin/devices/{id}': OPERATOR,
  'POST /v1/admin/devices/{id}/assignments': OPERATOR,
  'POST /v1/admin/devices/{id}/unassign': OPERATOR,
  'POST /v1/admin/devices/{id}/rotate-secret': OPERATOR,
  'POST /v1/admin/devices/{id}/revoke': OPERATOR,
  'GET /v1/admin/devices/{id}/rejections': OPERATOR,
  'GET /v1/admin/audit': OPERATOR,
  'GET /v1/admin/audit/export': OPERATOR,
  'GET /v1/admin/audit/head': OPERATOR,
  'GET /v1/admin/audit/verify': OPERATOR,
  'POST /v1/admin/fhir/destinations': OPERATOR,
  'GET /v1/admin/fhir/destinations': OPERATOR,
  'GET /v1/admin/fhir/destinations/{id}': OPERATOR,
  'PATCH /v1/admin/fhir/destinations/{id}': OPERATOR,
  'POST /v1/admin/fhir/destinations/{id}/pause': OPERATOR,
  'POST /v1/admin/fhir/destinations/{id}/resume': OPERATOR,
  'POST /v1/admin/fhir/destinations/{id}/backfill': OPERATOR,
  'GET /v1/admin/fhir/destinations/{id}/patients': OPERATOR,
  'PUT /v1/admin/fhir/destinations/{id}/patients/{patientId}': OPERATOR,
  'DELETE /v1/admin/fhir/destinations/{id}/patients/{patientId}': OPERATOR,
  'GET /v1/admin/fhir/deliveries': OPERATOR,
  'POST /v1/admin/fhir/deliveries/retry': OPERATOR,
  'GET /v1/admin/organizations/{org}/vendors': OPERATOR,
  'PUT /v1/admin/organizations/{org}/vendors/{vendor}': OPERATOR,
  'DELETE /v1/admin/organizations/{org}/vendors/{vendor}': OPERATOR,
  'POST /v1/admin/organizations/{org}/vendors/{vendor}/bindings': OPERATOR,
  'GET /v1/admin/organizations/{org}/vendors/{vendor}/bindings': OPERATOR,
  'GET /v1/admin/organizations/{org}/vendors/{vendor}/bindings/{externalId}': OPERATOR,
  'DELETE /v1/admin/organizations/{org}/vendors/{vendor}/bindings/{externalId}': OPERATOR,
  'POST /v1/admin/organizations/{org}/vendors/withings/bindings/{externalId}/backfill': OPERATOR,
  'GET /v1/admin/organizations/{org}/vendors/{vendor}/pulls': OPERATOR,

  'POST /v1/admin/organizations': OPERATOR_NO_TENANT,
  'GET /v1/admin/organizations/{id}': ORG_ADMIN,
  'GET /v1/admin/organizations/{id}/display': ORG_ADMIN,
  'PUT /v1/admin/organizations/{id}/display': ORG_ADMIN,
  'POST /v1/admin/staff': ORG_ADMIN,
  'GET /v1/admin/staff/{id}': ORG_ADMIN,
  'POST /v1/admin/staff/{id}/disable': ORG_ADMIN,
  'POST /v1/admin/staff/{id}/enable': ORG_ADMIN,
  'POST /v1/admin/care-teams': ORG_ADMIN,
  'GET /v1/admin/care-teams/{id}': ORG_ADMIN,
  'POST /v1/admin/care-teams/{id}/members': ORG_ADMIN,
  'DELETE /v1/admin/care-teams/{id}/members/{staffId}': ORG_ADMIN,
  'POST /v1/admin/care-teams/{id}/patients': ORG_ADMIN,
  'GET /v1/admin/organizations/{id}/access-policy': ORG_ADMIN,
  'PUT /v1/admin/organizations/{id}/access-policy': ORG_ADMIN,
  'POST /v1/admin/staff/{id}/password': ORG_ADMIN,
  'POST /v1/admin/staff/{id}/mfa/reset': ORG_ADMIN,
  'GET /v1/admin/organizations/{id}/break-glass': ORG_ADMIN,
  'POST /v1/admin/organizations/{id}/break-glass/{grantId}/review': ORG_ADMIN,
  'DELETE /v1/admin/care-teams/{id}/patients/{patientId}': ORG_ADMIN,

  'GET /v1/patients/{id}/readings': READINGS,
  'GET /v1/patients/{id}/alerts': CLINICAL,
  'GET /v1/patients/{id}/care-plan': CLINICAL,
  'PUT /v1/patients/{id}/care-plan': CLINICAL,
  'GET /v1/patients/{id}/news2': CLINICAL,
  'POST /v1/patients/{id}/time/start': CLINICAL,
  'POST /v1/patients/{id}/time': CLINICAL,
  'GET /v1/patients/{id}/time': CLINICAL,
  'GET /v1/patients/{id}/devices': CLINICAL,
  'POST /v1/patients/{id}/observations': CLINICIAN,
  'POST /v1/patients/{id}/readings/{readingId}/user': CLINICIAN,
  'GET /v1/alerts/{id}': CLINICAL,
  'POST /v1/alerts/{id}/claim': CLINICAL,
  'POST /v1/alerts/{id}/acknowledge': CLINICAL,
  'POST /v1/alerts/{id}/resolve': CLINICAL,
  'POST /v1/alerts/{id}/snooze': CLINICAL,
  'POST /v1/alerts/{id}/escalate': CLINICAL,
  'POST /v1/alerts/{id}/release': CLINICAL,
  'POST /v1/time/{entryId}/stop': OWN_TIMER,
  'POST /v1/patients/{id}/break-glass': BREAK_GLASS,
  'POST /v1/break-glass/{grantId}/end': END_BREAK_GLASS,

  'POST /v1/auth/logout': SESSION,
  'GET /v1/auth/me': SESSION,
  'GET /v1/me/display': SESSION,
  'PUT /v1/me/display': SESSION,
  'GET /v1/colleagues': SESSION,
  'GET /v1/worklist': SESSION,
  'GET /v1/worklist/stream': SESSION,
  'GET /v1/time/running': SESSION,
  'POST /v1/auth/password': SESSION,
  'POST /v1/auth/mfa/totp': SESSION,
  'POST /v1/auth/mfa/totp/activate': SESSION,
  'POST /v1/auth/mfa/recovery-codes': SESSION,
  'POST /v1/auth/mfa/disable': SESSION,

  'POST /vendors/tenovi/{org}/measurements': VENDOR,
  'POST /vendors/withings/{org}/notify/{token}': VENDOR,
  'POST /vendors/bodytrace/{org}/measurements': VENDOR,
  'POST /vendors/open-mhealth/{org}/users/{user}/data-points': VENDOR,
  'POST /vendors/validic/{org}/measurements': VENDOR,
  'POST /vendors/nightscout/{org}/{site}/api/v1/entries': VENDOR,
  'POST /vendors/nightscout/{org}/{site}/api/v1/entries.json': VENDOR,
};
