/**
 * The one catalogue of error codes. Codes are part of the public contract:
 * clients branch on them, so a code is never renamed or reused.
 * `status` is the HTTP status the gateway answers with; MQTT maps the same
 * codes onto CONNACK/SUBACK results or the `devices/{id}/errors` topic.
 */
export const errorCatalogue = {
  // Configuration (fatal at start-up)
  RPM_ERR_CONFIG_INVALID: { status: 500, title: 'Invalid configuration' },
  RPM_ERR_CONFIG_PORT_UNAVAILABLE: { status: 500, title: 'A configured port is in use or not allowed' },

  // Authentication and authorization
  RPM_ERR_AUTH_MISSING: { status: 401, title: 'Credentials required' },
  RPM_ERR_AUTH_INVALID: { status: 401, title: 'Invalid credentials' },
  RPM_ERR_AUTH_DEVICE_REVOKED: { status: 403, title: 'Device revoked' },
  RPM_ERR_AUTH_FORBIDDEN: { status: 403, title: 'Not allowed' },
  RPM_ERR_AUTH_TOPIC_MISMATCH: { status: 403, title: 'Topic not allowed for this device' },
  RPM_ERR_AUTH_SESSION_EXPIRED: { status: 401, title: 'Session expired; log in again' },
  RPM_ERR_AUTH_LOGIN_DELAYED: { status: 429, title: 'Too many wrong passwords for this account; wait before the next try' },
  RPM_ERR_AUTH_MFA_REQUIRED: { status: 401, title: 'This account signs in with a second factor: send `otp` (or a `recoveryCode`)' },
  RPM_ERR_AUTH_MFA_INVALID: { status: 401, title: 'Wrong or already used one-time code' },
  RPM_ERR_AUTH_MFA_ENROLLMENT_REQUIRED: { status: 403, title: 'Your organization requires a second factor: enrol one first' },
  RPM_ERR_AUTH_SSO_REQUIRED: { status: 403, title: 'Your organization signs in through its identity provider (single sign-on)' },
  RPM_ERR_SSO_NOT_CONFIGURED: { status: 404, title: 'This organization has no single sign-on' },
  RPM_ERR_SSO_FAILED: { status: 401, title: 'Single sign-on did not complete' },
  RPM_ERR_MFA_ALREADY_ENABLED: { status: 409, title: 'A second factor is already enabled for this account' },
  RPM_ERR_MFA_NOT_ENROLLED: { status: 409, title: 'No second factor is being enrolled or enabled for this account' },
  RPM_ERR_MFA_REQUIRED_BY_ORGANIZATION: { status: 409, title: 'Your organization requires a second factor; it cannot be removed' },
  RPM_ERR_BREAK_GLASS_NOT_NEEDED: { status: 409, title: 'This patient is already in your scope; no emergency access is needed' },
  RPM_ERR_BREAK_GLASS_NOT_FOUND: { status: 404, title: 'No such emergency access grant' },

  // Request envelope
  RPM_ERR_REQUEST_MALFORMED_JSON: { status: 400, title: 'Body is not valid JSON' },
  RPM_ERR_REQUEST_DUPLICATE_KEY: { status: 400, title: 'A JSON object repeats a key' },
  RPM_ERR_REQUEST_URI_TOO_LONG: { status: 414, title: 'Request target too long' },
  RPM_ERR_REQUEST_HEADERS_TOO_LARGE: { status: 431, title: 'Request headers too large' },
  RPM_ERR_REQUEST_TIMEOUT: { status: 408, title: 'The request took too long to arrive' },
  RPM_ERR_REQUEST_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  RPM_ERR_REQUEST_INVALID: { status: 400, title: 'Request does not match the schema' },
  RPM_ERR_REQUEST_BODY_TOO_LARGE: { status: 413, title: 'Body too large' },
  RPM_ERR_REQUEST_TOO_MANY_READINGS: { status: 413, title: 'Too many readings in one request' },
  RPM_ERR_REQUEST_NO_READINGS: { status: 400, title: 'No readings in request' },
  RPM_ERR_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  RPM_ERR_NOT_FOUND: { status: 404, title: 'Not found' },
  RPM_ERR_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },

  // Per-reading rejections (returned inside a 202 outcome list, or on the MQTT errors topic)
  RPM_ERR_READING_INVALID: { status: 422, title: 'Reading does not match the schema' },
  RPM_ERR_READING_UNKNOWN_KIND: { status: 422, title: 'Unknown reading kind' },
  RPM_ERR_READING_UNIT_UNSUPPORTED: { status: 422, title: 'Unit not accepted for this kind' },
  RPM_ERR_READING_IMPLAUSIBLE: { status: 422, title: 'Physiologically impossible value' },
  RPM_ERR_READING_TIME_INVALID: { status: 422, title: 'Measurement time is not an ISO 8601 timestamp with offset' },
  RPM_ERR_READING_TIME_IN_FUTURE: { status: 422, title: 'Measurement time is in the future' },
  RPM_ERR_READING_TIME_TOO_OLD: { status: 422, title: 'Measurement time is older than accepted' },
  RPM_ERR_READING_DEVICE_NOT_RELAYABLE: { status: 422, title: 'Device is not paired with this hub' },
  RPM_ERR_READING_STAFF_ONLY: { status: 422, title: 'Only staff record this kind (consciousness, supplemental oxygen)' },
  // A scale that reported a tare or calibration error (BodyTrace `values.tare`): its weight is offset, never stored as one.
  RPM_ERR_READING_CALIBRATION: { status: 422, title: 'The device reported a calibration error; the value is not stored' },
  // A nurse decides once whether a reading whose user the device could not tell is the patient's.
  RPM_ERR_READING_USER_DECIDED: { status: 409, title: "The reading's user was already decided, or never needed deciding" },

  // Registry administration
  RPM_ERR_PATIENT_EXISTS: { status: 409, title: 'Patient already exists' },
  RPM_ERR_PATIENT_NOT_FOUND: { status: 404, title: 'Patient not found' },
  // Patient identity and contact (name, date of birth, MRN, phone): PHI, encrypted at rest.
  RPM_ERR_PATIENT_IDENTITY_NOT_FOUND: { status: 404, title: 'No identity recorded for this patient' },
  RPM_ERR_PATIENT_IDENTITY_CONFLICT: { status: 409, title: "The patient's identity changed since you read it" },
  RPM_ERR_PATIENT_MRN_EXISTS: { status: 409, title: 'Another patient of the organization has this MRN' },
  RPM_ERR_DEVICE_EXISTS: { status: 409, title: 'Device already exists' },
  RPM_ERR_DEVICE_NOT_FOUND: { status: 404, title: 'Device not found' },
  RPM_ERR_DEVICE_REVOKED: { status: 409, title: 'Device is revoked' },
  RPM_ERR_ASSIGNMENT_CONFLICT: { status: 409, title: 'Assignment conflicts with the device history' },

  // Organizations, staff and care teams
  RPM_ERR_ORGANIZATION_EXISTS: { status: 409, title: 'Organization already exists' },
  RPM_ERR_ORGANIZATION_NOT_FOUND: { status: 404, title: 'Organization not found' },
  RPM_ERR_STAFF_EXISTS: { status: 409, title: 'A staff account with this email already exists' },
  RPM_ERR_STAFF_NOT_FOUND: { status: 404, title: 'Staff member not found' },
  RPM_ERR_CARE_TEAM_EXISTS: { status: 409, title: 'Care team already exists' },
  RPM_ERR_CARE_TEAM_NOT_FOUND: { status: 404, title: 'Care team not found' },
  RPM_ERR_CARE_TEAM_AMBIGUOUS: { status: 409, title: 'Several organizations have a care team with this id; name the organization' },
  RPM_ERR_ORGANIZATION_MISMATCH: { status: 409, title: 'Belongs to another organization' },

  // Alerts, care plans, time log
  RPM_ERR_ALERT_NOT_FOUND: { status: 404, title: 'Alert not found' },
  RPM_ERR_ALERT_CONFLICT: { status: 409, title: 'Alert changed or is held by someone else' },
  RPM_ERR_ALERT_ACTION_INVALID: { status: 422, title: 'Alert action is missing something it needs' },
  RPM_ERR_CARE_PLAN_INVALID: { status: 422, title: 'Care plan is invalid' },
  RPM_ERR_CARE_PLAN_VERSION_CONFLICT: { status: 409, title: 'Care plan changed since you read it' },
  RPM_ERR_TIME_ENTRY_NOT_FOUND: { status: 404, title: 'Time entry not found' },
  RPM_ERR_TIME_ENTRY_RUNNING: { status: 409, title: 'A timer is already running' },

  // Video visits
  RPM_ERR_VISIT_NOT_FOUND: { status: 404, title: 'Visit not found' },
  RPM_ERR_VISIT_ENDED: { status: 409, title: 'The visit has ended' },
  // One answer for a patient link that is unknown, used, expired, or whose visit ended: it says nothing more.
  RPM_ERR_VISIT_LINK_INVALID: { status: 404, title: 'This link is not valid' },
  RPM_ERR_VISIT_CONSENT_MISSING: { status: 409, title: 'No telehealth consent is on record for this patient' },
  // The appointment already has an open video visit (details.visitId names it: join that one).
  RPM_ERR_VISIT_ALREADY_OPEN: { status: 409, title: 'The appointment already has an open video visit' },
  // A manual timer or typed-in time over a span a video visit of the same staff member and patient logs already.
  RPM_ERR_TIME_OVERLAPS_VISIT: { status: 409, title: 'A video visit already logs this time' },
  // Scheduling: availability, appointment types, appointments
  RPM_ERR_APPOINTMENT_NOT_FOUND: { status: 404, title: 'Appointment not found' },
  RPM_ERR_APPOINTMENT_TYPE_NOT_FOUND: { status: 404, title: 'Appointment type not found' },
  RPM_ERR_APPOINTMENT_TYPE_EXISTS: { status: 409, title: 'Appointment type already exists' },
  // Another appointment of the staff member or the patient overlaps (also when two bookings race).
  RPM_ERR_APPOINTMENT_SLOT_TAKEN: { status: 409, title: 'The time overlaps another appointment' },
  RPM_ERR_APPOINTMENT_VERSION_CONFLICT: { status: 409, title: 'The appointment changed since you read it' },
  RPM_ERR_APPOINTMENT_OUTSIDE_HOURS: { status: 422, title: "The time is outside the staff member's working hours" },
  RPM_ERR_APPOINTMENT_STATE: { status: 409, title: 'The appointment cannot change this way in its current state' },
  RPM_ERR_AVAILABILITY_VERSION_CONFLICT: { status: 409, title: 'Working hours changed since you read them' },
  RPM_ERR_AVAILABILITY_NOT_SET: { status: 422, title: 'The staff member has no working hours recorded' },
  // An inbound Twilio webhook whose X-Twilio-Signature does not verify.
  RPM_ERR_WEBHOOK_SIGNATURE_INVALID: { status: 403, title: 'Webhook signature does not verify' },

  // RPM billing: episodes, sign-offs and amendments
  RPM_ERR_BILLING_PERIOD_SIGNED: { status: 409, title: 'This billing period is already signed off; change it with an amendment' },
  RPM_ERR_BILLING_NOT_SIGNED: { status: 409, title: 'This billing period is not signed off; there is nothing to amend' },
  RPM_ERR_BILLING_AMENDMENT_CONFLICT: { status: 409, title: 'The billing period was amended since you read it' },
  RPM_ERR_BILLING_PERIOD_NOT_FOUND: { status: 404, title: 'Billing period not found' },
  RPM_ERR_BILLING_PERIOD_OPEN: { status: 409, title: 'The billing period is still in progress; sign it off once it is complete' },
  RPM_ERR_BILLING_EPISODE_INVALID: { status: 422, title: 'The RPM episode is invalid' },

  // Upstream services
  RPM_ERR_UPSTREAM_SMS: { status: 502, title: 'The SMS provider refused or failed' },
  // FHIR forwarding to EHRs. Retried: UPSTREAM_FHIR (unreachable, timeout, 5xx, 429, garbled answer)
  // and UPSTREAM_FHIR_AUTH (token endpoint or 401/403). Dead-lettered: UPSTREAM_FHIR_REJECTED
  // (400/422: the EHR found the resource invalid) and UPSTREAM_FHIR_CONFLICT (412: identifier not unique there).
  RPM_ERR_UPSTREAM_FHIR: { status: 502, title: 'The FHIR server failed or could not be reached' },
  RPM_ERR_UPSTREAM_FHIR_AUTH: { status: 502, title: 'The FHIR server or its token endpoint refused our credentials' },
  RPM_ERR_UPSTREAM_FHIR_REJECTED: { status: 502, title: 'The FHIR server rejected the resource as invalid' },
  RPM_ERR_UPSTREAM_FHIR_CONFLICT: { status: 502, title: 'The FHIR server holds several resources with this identifier' },
  // A timeout is retried like UPSTREAM_FHIR, and also shrinks the destination's batch size.
  RPM_ERR_UPSTREAM_FHIR_TIMEOUT: { status: 504, title: 'The FHIR server did not answer in time' },
  // The EHR has no Patient for the reading's patient (dead letter, replayed when a mapping appears),
  // or several that match its identifier (dead letter: someone must look at the EHR's data).
  RPM_ERR_FHIR_PATIENT_UNKNOWN: { status: 422, title: 'The EHR has no Patient for this patient' },
  RPM_ERR_FHIR_PATIENT_AMBIGUOUS: { status: 422, title: 'Several Patients at the EHR match this patient' },

  // FHIR destinations and FHIR input
  RPM_ERR_FHIR_DESTINATION_EXISTS: { status: 409, title: 'FHIR destination already exists' },
  RPM_ERR_FHIR_DESTINATION_NOT_FOUND: { status: 404, title: 'FHIR destination not found' },
  RPM_ERR_FHIR_INVALID: { status: 400, title: 'Not a FHIR resource we accept' },
  RPM_ERR_FHIR_TRANSACTION_ROLLED_BACK: { status: 422, title: 'Not committed: another entry of the transaction was rejected' },
  RPM_ERR_FHIR_OBSERVATION_NOT_FOUND: { status: 404, title: 'Observation not found' },

  // Vendor integrations (Tenovi, Withings, BodyTrace, Open mHealth, Validic, Nightscout)
  RPM_ERR_VENDOR_PAYLOAD_INVALID: { status: 400, title: "Not a payload in this vendor's format" },
  // A signed vendor request whose timestamp is outside the replay window (Validic).
  RPM_ERR_AUTH_SIGNATURE_EXPIRED: { status: 401, title: 'Signed request is outside the replay window' },
  // Per reading: the vendor's device (or user, or site) is not bound to a device of ours.
  RPM_ERR_VENDOR_DEVICE_UNBOUND: { status: 422, title: "The vendor's device is not bound to a device here" },
  RPM_ERR_VENDOR_CONNECTION_NOT_FOUND: { status: 404, title: 'Vendor integration not configured for this organization' },
  RPM_ERR_VENDOR_BINDING_EXISTS: { status: 409, title: "This vendor device is already bound" },
  RPM_ERR_VENDOR_BINDING_NOT_FOUND: { status: 404, title: 'Vendor binding not found' },
  // Pulling from a vendor's API (Withings). Retried with backoff; AUTH: the token refresh was refused.
  RPM_ERR_UPSTREAM_VENDOR: { status: 502, title: "The vendor's API failed or could not be reached" },
  RPM_ERR_UPSTREAM_VENDOR_AUTH: { status: 502, title: 'The vendor refused our credentials (token refresh failed)' },

  // Encrypted fields (destination credentials, patient identifiers at an EHR)
  RPM_ERR_SECRET_KEY_UNKNOWN: { status: 500, title: 'A stored secret is encrypted under a key that is not configured' },
  RPM_ERR_SECRET_UNREADABLE: { status: 500, title: 'A stored secret could not be decrypted (wrong key or altered data)' },

  // Capacity and availability
  RPM_ERR_OVERLOADED: { status: 503, title: 'Gateway is at capacity; retry later' },
  RPM_ERR_SHUTTING_DOWN: { status: 503, title: 'Gateway is shutting down; retry later' },

  // Storage
  RPM_ERR_STORE_FAILURE: { status: 503, title: 'Storage failure; nothing was committed' },
  RPM_ERR_TIMESERIES_UNAVAILABLE: { status: 503, title: 'The time-series store did not accept the points' },
  // A rule partition's cursor moved while a pass ran: another worker took the partition over.
  RPM_ERR_CURSOR_MOVED: { status: 409, title: 'Another worker moved the rules cursor; nothing of this pass was written' },
  // An alert the rules engine updates was changed meanwhile (a nurse's action): the pass is judged again.
  RPM_ERR_ALERT_CHANGED: { status: 409, title: 'An alert changed while the rules judged it; nothing of this pass was written' },
  // A read of patient data (or another audited request) refused because its audit record could not be written.
  RPM_ERR_AUDIT_UNAVAILABLE: { status: 503, title: 'Audit log unavailable; request refused, retry later' },
  RPM_ERR_BROKER_UNAVAILABLE: { status: 503, title: 'The MQTT broker could not take the command; retry later' },

  // Anything we did not anticipate
  RPM_ERR_INTERNAL: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type RpmErrorCode = keyof typeof errorCatalogue;

export function statusOf(code: RpmErrorCode): number {
  return errorCatalogue[code].status;
}

export function titleOf(code: RpmErrorCode): string {
  return errorCatalogue[code].title;
}
