import { createHash, createHmac } from 'node:crypto';
import { VENDORS, type VendorName } from '../../core/model/vendor.js';
import type { MeasuringKind } from '../model.js';
import type { SimReading } from '../readings.js';
import type { WithingsGroup } from './withings-cloud.js';

/**
 * Simulated devices that speak vendor wire formats instead of our JSON (`rpm simulate --format
 * tenovi`, …): a reading a device measured is encoded as its vendor's cloud would deliver it.
 * Only wire formats: what a vendor's documentation shows (gateway/vendors/fixtures), nothing of
 * the gateway's code. Each encoder also says how many records the gateway will make of each
 * reading (a Tenovi cuff reading is a blood pressure and a pulse), so the answer's outcomes can
 * be matched back; the first record of each reading is the reading itself.
 */

export const VENDOR_FORMATS = VENDORS;
export type VendorFormat = VendorName;

/** Device kinds each vendor format carries. */
export const FORMAT_KINDS: Readonly<Record<VendorFormat, readonly MeasuringKind[]>> = {
  tenovi: ['bp-cuff', 'pulse-oximeter', 'glucometer', 'scale', 'thermometer'],
  withings: ['bp-cuff', 'scale', 'pulse-oximeter', 'thermometer'],
  bodytrace: ['scale'],
  'open-mhealth': ['bp-cuff', 'pulse-oximeter', 'scale', 'glucometer', 'thermometer', 'cgm'],
  validic: ['bp-cuff', 'glucometer', 'scale', 'pulse-oximeter', 'thermometer'],
  nightscout: ['cgm', 'glucometer'],
};

const LB_PER_KG = 2.2046226218;
const MGDL_PER_MMOL = 18.016;
/** A value no body can have: fault injection (a firmware bug) the gateway must refuse. */
const IMPOSSIBLE = 100_000;

const digits = (s: string, n: number): string => {
  const hex = createHash('sha256').update(s).digest('hex');
  return (BigInt(`0x${hex.slice(0, 24)}`) % 10n ** BigInt(n)).toString().padStart(n, '1').replace(/^0/, '1');
};

/** The vendor's id of a simulated device: stable per device id, in the vendor's own shape. */
export function externalIdOf(format: VendorFormat, deviceId: string): string {
  switch (format) {
    case 'bodytrace':
      return digits(deviceId, 14);
    case 'withings':
      return digits(deviceId, 9);
    case 'tenovi': {
      const h = createHash('sha256').update(deviceId).digest('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
    }
    default:
      return deviceId;
  }
}

/** What a simulated reading carries, read back from its wire JSON. */
interface Values {
  readonly kind: string;
  readonly value: number;
  readonly systolic: number;
  readonly diastolic: number;
  readonly pulse: number | undefined;
  readonly unit: string;
  readonly atMs: number;
  readonly offsetMin: number;
  readonly battery: number | undefined;
  readonly mealContext: string | undefined;
  readonly method: string | undefined;
}

function valuesOf(r: SimReading): Values {
  const b = r.body as Record<string, unknown>;
  const measuredAt = String(b.measuredAt);
  const m = /([+-])(\d{2}):(\d{2})$/.exec(measuredAt);
  const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);
  const bad = r.malformed;
  return {
    kind: String(b.kind),
    value: bad ? IMPOSSIBLE : num(b.value),
    systolic: bad ? IMPOSSIBLE : num(b.systolic),
    diastolic: num(b.diastolic),
    pulse: typeof b.pulse === 'number' ? b.pulse : undefined,
    unit: typeof b.unit === 'string' ? b.unit : '',
    atMs: Date.parse(measuredAt),
    offsetMin: m === null ? 0 : (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])),
    battery: typeof b.batteryPercent === 'number' ? b.batteryPercent : undefined,
    mealContext: typeof b.mealContext === 'string' ? b.mealContext : undefined,
    method: typeof b.method === 'string' ? b.method : undefined,
  };
}

/** The identity the gateway gives the reading: (device, kind, measurement instant). */
export function identityOf(r: SimReading): string {
  const v = valuesOf(r);
  return `${r.deviceId}|${v.kind}|${v.atMs}`;
}

const mgdl = (v: Values): number => (v.unit === 'mmol/L' ? Math.round(v.value * MGDL_PER_MMOL) : v.value);
const pounds = (v: Values): number => (v.unit === 'kg' ? Number((v.value * LB_PER_KG).toFixed(1)) : v.value);
const kilograms = (v: Values): number => (v.unit === 'lb' ? Number((v.value / LB_PER_KG).toFixed(3)) : v.value);
const celsius = (v: Values): number => (v.unit === '[degF]' ? Number((((v.value - 32) * 5) / 9).toFixed(2)) : v.value);
const fahrenheit = (v: Values): number => (v.unit === 'Cel' ? Number(((v.value * 9) / 5 + 32).toFixed(1)) : v.value);

/** One HTTP request a vendor cloud makes, and how many records of it belong to each reading. */
export interface VendorRequest {
  readonly body: string;
  readonly headers: Record<string, string>;
  readonly recordsPerReading: readonly number[];
}

/** Tenovi: the coincident metrics of each reading as one array (post_as_array), with the battery. */
export function tenoviRequest(readings: readonly SimReading[], authHeader: string, authKey: string): VendorRequest {
  const items: Record<string, unknown>[] = [];
  const counts: number[] = [];
  for (const r of readings) {
    const v = valuesOf(r);
    const common = {
      device_name: `Simulated ${v.kind}`,
      hwi_device_id: externalIdOf('tenovi', r.deviceId),
      hardware_uuid: digits(`gw:${r.deviceId}`, 12),
      created: new Date(v.atMs + 5000).toISOString(),
      timestamp: new Date(v.atMs).toISOString(),
      timezone_offset: v.offsetMin,
      estimated_timestamp: false,
      filter_params: { measurement_index: (r.sequence % 100_000) + 1 },
    };
    const metric = (name: string, v1: number, v2: number | null = null): Record<string, unknown> => ({ metric: name, ...common, value_1: String(v1), value_2: v2 === null ? null : String(v2) });
    const before = items.length;
    if (v.kind === 'blood-pressure') {
      items.push(metric('blood_pressure', v.systolic, v.diastolic));
      if (v.pulse !== undefined) items.push(metric('pulse', v.pulse));
    } else if (v.kind === 'spo2') {
      items.push(metric('spO2', v.value));
      if (v.pulse !== undefined) items.push(metric('pulse', v.pulse));
    } else if (v.kind === 'blood-glucose') {
      items.push({ ...metric('glucose', mgdl(v)), filter_params: { ...common.filter_params, measurement_location: 'finger', ...(v.mealContext === 'fasting' ? { meal_context: 'fasting' } : {}) } });
    } else if (v.kind === 'body-weight') items.push(metric('weight', pounds(v)));
    else if (v.kind === 'body-temperature') items.push(metric('temperature', fahrenheit(v)));
    counts.push(items.length - before);
    if (v.battery !== undefined) items.push({ ...metric('battery_percentage', Math.round(v.battery)), filter_params: {} });
  }
  return { body: JSON.stringify(items), headers: { 'content-type': 'application/json', [authHeader.toLowerCase()]: authKey }, recordsPerReading: counts };
}

/** BodyTrace: one message per weighing (grams, epoch ms, battery in mV). */
export function bodytraceRequests(readings: readonly SimReading[], username: string, password: string): VendorRequest[] {
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  return readings.map((r) => {
    const v = valuesOf(r);
    const message = {
      deviceId: Number(externalIdOf('bodytrace', r.deviceId)),
      ts: v.atMs,
      batteryVoltage: v.battery === undefined ? 5500 : Math.round(4700 + v.battery * 13),
      rssi: 90,
      values: { unit: v.unit === 'lb' ? 2 : 1, weight: r.malformed ? -1 : Math.round(kilograms(v) * 1000), tare: 0 },
    };
    return { body: JSON.stringify(message), headers: { 'content-type': 'application/json', authorization }, recordsPerReading: [1] };
  });
}

/** Open mHealth: IEEE 1752.1 data points (one per reading; a CGM's glucose is interstitial fluid). */
export function openMhealthRequest(readings: readonly SimReading[], token: string): VendorRequest {
  const points = readings.map((r) => {
    const v = valuesOf(r);
    const h = createHash('sha256').update(r.key).digest('hex');
    const header = (name: string, version: string) => ({
      id: `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`,
      creation_date_time: new Date(v.atMs + 1000).toISOString(),
      schema_id: { namespace: 'omh', name, version },
      acquisition_provenance: { source_name: 'RPM simulator (test data)', modality: 'sensed' },
    });
    const time = { effective_time_frame: { date_time: String((r.body as { measuredAt?: unknown }).measuredAt) } };
    switch (v.kind) {
      case 'blood-pressure':
        return { header: header('blood-pressure', '4.0'), body: { systolic_blood_pressure: { value: v.systolic, unit: 'mmHg' }, diastolic_blood_pressure: { value: v.diastolic, unit: 'mmHg' }, ...time } };
      case 'spo2':
        return { header: header('oxygen-saturation', '2.0'), body: { oxygen_saturation: { value: v.value, unit: '%' }, ...time, measurement_method: 'pulse oximetry' } };
      case 'body-weight':
        return { header: header('body-weight', '3.0'), body: { body_weight: { value: v.value, unit: v.unit }, ...time } };
      case 'body-temperature':
        return { header: header('body-temperature', '4.0'), body: { body_temperature: { value: v.value, unit: v.unit === '[degF]' ? 'F' : 'C' }, ...time } };
      default:
        return {
          header: header('blood-glucose', '4.0'),
          body: {
            blood_glucose: { value: v.value, unit: v.unit },
            specimen_source: v.method === 'cgm' ? 'interstitial fluid' : 'capillary blood',
            ...(v.mealContext === 'fasting' ? { temporal_relationship_to_meal: 'fasting' } : {}),
            ...time,
          },
        };
    }
  });
  return { body: JSON.stringify(points), headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, recordsPerReading: readings.map(() => 1) };
}

let validicPushes = 0;

/** Validic Inform: one measurement record per reading, signed as Validic signs its pushes. */
export function validicRequest(readings: readonly SimReading[], organizationAccessToken: string, applicationSecret: string, nowMs = Date.now()): VendorRequest {
  const counts: number[] = [];
  const records = readings.map((r) => {
    const v = valuesOf(r);
    const metric = (type: string, unit: string, value: number) => ({ type, origin: 'device', unit, value });
    let metrics: ReturnType<typeof metric>[];
    if (v.kind === 'blood-pressure') metrics = [metric('systolic', 'mmHg', v.systolic), metric('diastolic', 'mmHg', v.diastolic), ...(v.pulse === undefined ? [] : [metric('pulse', 'bpm', v.pulse)])];
    else if (v.kind === 'spo2') metrics = [metric('spo2', '%', v.value), ...(v.pulse === undefined ? [] : [metric('pulse', 'bpm', v.pulse)])];
    else if (v.kind === 'body-weight') metrics = [metric('body_weight', 'kg', kilograms(v))];
    else if (v.kind === 'body-temperature') metrics = [metric('body_temperature', 'C', celsius(v))];
    else metrics = [metric('blood_glucose', 'mg/dL', mgdl(v))];
    counts.push(v.kind === 'blood-pressure' || v.kind === 'spo2' ? (v.pulse === undefined ? 1 : 2) : 1);
    return {
      log_id: `sim-${r.key}`,
      type: 'measurement',
      start_time: new Date(v.atMs).toISOString(),
      end_time: new Date(v.atMs).toISOString(),
      utc_offset: v.offsetMin * 60,
      offset_origin: 'source',
      metrics,
      source: { type: 'rpm_simulator', device: { id: null, model: `Simulated ${v.kind}`, manufacturer: 'RPM simulator' } },
      user: { uid: externalIdOf('validic', r.deviceId) },
      version: '1.0',
    };
  });
  // X-Validic-Timestamp: the date and time (UTC) followed by the fraction's digits, as in Validic's
  // example (nanoseconds there): unique per push, or two pushes would share a signature.
  validicPushes = (validicPushes + 1) % 1_000_000;
  const timestamp = `${new Date(nowMs).toISOString().slice(0, 19)}${String(nowMs % 1000).padStart(3, '0')}${String(validicPushes).padStart(6, '0')}`;
  const signature = createHmac('sha1', applicationSecret).update(`${organizationAccessToken}notification${timestamp}`).digest('base64');
  return {
    body: JSON.stringify({ data: records }),
    headers: { 'content-type': 'application/json', 'x-validic-signature': signature, 'x-validic-timestamp': timestamp },
    recordsPerReading: counts,
  };
}

/** Nightscout: CGM entries (sgv with a trend) and fingersticks (mbg), as an uploader posts them. */
export function nightscoutRequest(readings: readonly SimReading[], apiSecret: string): VendorRequest {
  const entries = readings.map((r) => {
    const v = valuesOf(r);
    const common = { device: 'rpm-simulator', date: v.atMs, dateString: new Date(v.atMs).toISOString(), utcOffset: v.offsetMin };
    return v.method === 'cgm' ? { ...common, type: 'sgv', sgv: mgdl(v), direction: 'Flat', noise: 1 } : { ...common, type: 'mbg', mbg: mgdl(v) };
  });
  return {
    body: JSON.stringify(entries),
    headers: { 'content-type': 'application/json', 'api-secret': createHash('sha1').update(apiSecret).digest('hex') },
    recordsPerReading: readings.map(() => 1),
  };
}

/** Withings: the measure group a reading becomes in the user's account (epoch seconds, value × 10^unit). */
export function withingsGroup(r: SimReading): Omit<WithingsGroup, 'grpid'> {
  const v = valuesOf(r);
  const date = Math.floor(v.atMs / 1000);
  const base = { attrib: 0, date, category: 1 };
  switch (v.kind) {
    case 'blood-pressure':
      return { ...base, model: 'BPM Connect', measures: [{ value: v.systolic, type: 10, unit: 0 }, { value: v.diastolic, type: 9, unit: 0 }, ...(v.pulse === undefined ? [] : [{ value: v.pulse, type: 11, unit: 0 }])] };
    case 'spo2':
      return { ...base, model: 'ScanWatch', measures: [{ value: v.value, type: 54, unit: 0 }] };
    case 'body-temperature':
      return { ...base, model: 'Thermo', measures: [{ value: Math.round(celsius(v) * 100), type: 71, unit: -2 }] };
    default:
      return { ...base, model: 'Body+', measures: [{ value: Math.round(kilograms(v) * 1000), type: 1, unit: -3 }] };
  }
}

/** Which device kinds a format cannot carry, among these. */
export function unsupportedKinds(format: VendorFormat, kinds: Iterable<MeasuringKind>): MeasuringKind[] {
  return [...new Set(kinds)].filter((k) => !FORMAT_KINDS[format].includes(k));
}
