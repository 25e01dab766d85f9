/**
 * The MQTT topic contract. A device may publish only to its readings topic and subscribe only
 * to its commands and errors topics; everything else is refused.
 */
export const readingsTopic = (deviceId: string): string => `devices/${deviceId}/readings`;
export const commandsTopic = (deviceId: string): string => `devices/${deviceId}/commands`;
export const errorsTopic = (deviceId: string): string => `devices/${deviceId}/errors`;
export const statusTopic = (deviceId: string): string => `devices/${deviceId}/status`;

export function maySubscribe(deviceId: string, topic: string): boolean {
  return topic === commandsTopic(deviceId) || topic === errorsTopic(deviceId);
}

export function mayPublish(deviceId: string, topic: string): boolean {
  return topic === readingsTopic(deviceId);
}

/** Wills are published by the broker on the device's behalf, so they get the same scrutiny. */
export function mayUseWill(deviceId: string, topic: string): boolean {
  return topic === statusTopic(deviceId);
}

/** What the broker may deliver to a device: only its own topics. */
export function mayReceive(deviceId: string, topic: string): boolean {
  return topic.startsWith(`devices/${deviceId}/`);
}
