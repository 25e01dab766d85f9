import type { z } from 'zod';
import type { BackfillInput, CreateDestinationInput } from '../core/model/destination.js';
import type { CreateDeviceInput, CreatePatientInput, assignDeviceInput, rotateSecretInput, unassignDeviceInput } from '../core/model/registry.js';
import type { CreateOrganizationInput, CreateStaffInput } from '../core/model/staff.js';
import {
  type AuditHeadView,
  type AuditPage,
  type FhirBundleView,
  auditHead,
  auditPage,
  fhirBundle,
  type AssignResult,
  type BackfillResult,
  backfillResult,
  type DestinationList,
  destinationList,
  type DestinationStatus,
  destinationStatus,
  type DestinationView,
  destinationView,
  type CreatedDevice,
  type DeviceDetails,
  type DeviceList,
  type DeviceView,
  type OrganizationView,
  type PatientMoveView,
  type PatientView,
  type RejectionList,
  type RotateResult,
  type StaffView,
  type UnassignResult,
  assignResult,
  patientMoveView,
  createdDevice,
  deviceDetails,
  deviceList,
  deviceView,
  organizationView,
  patientView,
  rejectionList,
  rotateResult,
  staffView,
  unassignResult,
} from './api-schemas.js';
import type { Connection } from './connection.js';
import { call } from './http.js';

const seg = encodeURIComponent;

/** The gateway's admin API (gateway/http/admin-routes.ts), one method per endpoint. */
export class AdminClient {
  constructor(private readonly conn: Connection) {}

  /** Audit entries oldest first, after `after` (0 = the beginning). */
  auditPage(after: number, limit: number): Promise<AuditPage> {
    return call(this.conn, { method: 'GET', path: `/v1/admin/audit/export?after=${after}&limit=${limit}`, answer: auditPage });
  }

  auditFhirPage(after: number, limit: number): Promise<FhirBundleView> {
    return call(this.conn, { method: 'GET', path: `/v1/admin/audit/export?format=fhir&after=${after}&limit=${limit}`, answer: fhirBundle });
  }

  auditHead(): Promise<AuditHeadView> {
    return call(this.conn, { method: 'GET', path: '/v1/admin/audit/head', answer: auditHead });
  }

  createOrganization(input: CreateOrganizationInput): Promise<OrganizationView> {
    return call(this.conn, { method: 'POST', path: '/v1/admin/organizations', body: input, answer: organizationView });
  }

  createStaff(input: CreateStaffInput): Promise<StaffView> {
    return call(this.conn, { method: 'POST', path: '/v1/admin/staff', body: input, answer: staffView });
  }

  createPatient(input: CreatePatientInput): Promise<PatientView> {
    return call(this.conn, { method: 'POST', path: '/v1/admin/patients', body: input, answer: patientView });
  }

  movePatient(id: string, organizationId: string): Promise<PatientMoveView> {
    return call(this.conn, { method: 'PUT', path: `/v1/admin/patients/${seg(id)}/organization`, body: { organizationId }, answer: patientMoveView });
  }

  getPatient(id: string): Promise<PatientView> {
    return call(this.conn, { method: 'GET', path: `/v1/admin/patients/${seg(id)}`, answer: patientView });
  }

  createDevice(input: CreateDeviceInput): Promise<CreatedDevice> {
    return call(this.conn, { method: 'POST', path: '/v1/admin/devices', body: input, answer: createdDevice });
  }

  getDevice(id: string): Promise<DeviceDetails> {
    return call(this.conn, { method: 'GET', path: `/v1/admin/devices/${seg(id)}`, answer: deviceDetails });
  }

  listDevices(page: { limit: number; after?: string | undefined }): Promise<DeviceList> {
    const q = new URLSearchParams({ limit: String(page.limit) });
    if (page.after !== undefined) q.set('after', page.after);
    return call(this.conn, { method: 'GET', path: `/v1/admin/devices?${q}`, answer: deviceList });
  }

  assign(deviceId: string, input: z.infer<typeof assignDeviceInput>): Promise<AssignResult> {
    return call(this.conn, { method: 'POST', path: `/v1/admin/devices/${seg(deviceId)}/assignments`, body: input, answer: assignResult });
  }

  unassign(deviceId: string, input: z.infer<typeof unassignDeviceInput>): Promise<UnassignResult> {
    return call(this.conn, { method: 'POST', path: `/v1/admin/devices/${seg(deviceId)}/unassign`, body: input, answer: unassignResult });
  }

  rotateSecret(deviceId: string, input: z.infer<typeof rotateSecretInput>): Promise<RotateResult> {
    return call(this.conn, { method: 'POST', path: `/v1/admin/devices/${seg(deviceId)}/rotate-secret`, body: input, answer: rotateResult });
  }

  revoke(deviceId: string): Promise<DeviceView> {
    return call(this.conn, { method: 'POST', path: `/v1/admin/devices/${seg(deviceId)}/revoke`, answer: deviceView });
  }

  rejections(deviceId: string, limit: number): Promise<RejectionList> {
    return call(this.conn, { method: 'GET', path: `/v1/admin/devices/${seg(deviceId)}/rejections?limit=${limit}`, answer: rejectionList });
  }

  createDestination(input: CreateDestinationInput): Promise<DestinationView> {
    return call(this.conn, { method: 'POST', path: '/v1/admin/fhir/destinations', body: input, answer: destinationView });
  }

  listDestinations(organizationId?: string): Promise<DestinationList> {
    const q = organizationId === undefined ? '' : `?organizationId=${seg(organizationId)}`;
    return call(this.conn, { method: 'GET', path: `/v1/admin/fhir/destinations${q}`, answer: destinationList });
  }

  destinationStatus(id: string): Promise<DestinationStatus> {
    return call(this.conn, { method: 'GET', path: `/v1/admin/fhir/destinations/${seg(id)}`, answer: destinationStatus });
  }

  pauseDestination(id: string, verb: 'pause' | 'resume'): Promise<DestinationView> {
    return call(this.conn, { method: 'POST', path: `/v1/admin/fhir/destinations/${seg(id)}/${verb}`, answer: destinationView });
  }

  backfill(id: string, input: BackfillInput): Promise<BackfillResult> {
    return call(this.conn, { method: 'POST', path: `/v1/admin/fhir/destinations/${seg(id)}/backfill`, body: input, answer: backfillResult });
  }
}
