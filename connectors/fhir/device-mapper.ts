import type { Device } from '../../core/model/registry.js';
import { DEVICE_KIND_TEXT, DEVICE_TYPE, type FhirSystems, TEST_DATA_TAG } from './fhir-codes.js';
import type { DeviceResource, Identifier, Reference } from './fhir-types.js';
import { sha256Parts } from './identifier.js';

/**
 * The key a Device is conditionally created by: its serial number (scoped by manufacturer and
 * model, as serials are only unique per maker), or our device id when it has no serial. Hashed,
 * because serial numbers are HIPAA identifiers and the key travels in `If-None-Exist` headers
 * and search URLs; the serial itself goes in the body (`serialNumber`).
 */
export function deviceIdentifier(device: Device, systems: FhirSystems): Identifier {
  const value =
    device.serial === null
      ? sha256Parts(['rpm-device', device.id])
      : sha256Parts(['serial', device.manufacturer ?? '', device.model ?? '', device.serial]);
  return { system: systems.device, value };
}

/** The Device resource for a registered device (measuring device or hub). */
export function mapDevice(device: Device, systems: FhirSystems): DeviceResource {
  const type = DEVICE_TYPE[device.kind];
  return {
    resourceType: 'Device',
    meta: { source: systems.source, ...(device.simulated ? { security: [TEST_DATA_TAG] } : {}) },
    identifier: [deviceIdentifier(device, systems)],
    status: 'active',
    ...(device.manufacturer === null ? {} : { manufacturer: device.manufacturer }),
    ...(device.serial === null ? {} : { serialNumber: device.serial }),
    ...(device.model === null ? {} : { modelNumber: device.model, deviceName: [{ name: device.model, type: 'model-name' as const }] }),
    type: type === undefined ? { text: DEVICE_KIND_TEXT[device.kind] } : { coding: [type], text: DEVICE_KIND_TEXT[device.kind] },
  };
}

/** A logical reference, for servers that hold no Device resources or refused ours. */
export function logicalDeviceReference(device: Device, systems: FhirSystems): Reference {
  return { identifier: deviceIdentifier(device, systems), display: device.model ?? DEVICE_KIND_TEXT[device.kind] };
}
