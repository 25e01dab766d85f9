import type { Command } from 'commander';
import { DEVICE_KINDS, assignDeviceInput, createDeviceInput, rotateSecretInput, unassignDeviceInput } from '../../core/model/registry.js';
import type { CommandGroup } from '../context.js';
import * as format from '../format.js';
import { toNumber, validId, validLimit, validated } from '../validate.js';

interface AddOptions {
  kind: string;
  patient?: string;
  from?: string;
  manufacturer?: string;
  model?: string;
  serial?: string;
  hub?: string;
}

const ISO = '<iso>';
const isoHelp = 'ISO 8601 with offset, e.g. 2025-03-01T08:00:00-05:00';

export const deviceCommands: CommandGroup = (program: Command, ctx) => {
  const device = program.command('device').description('register devices, assign them to patients, manage their secrets');

  device
    .command('add')
    .description('register a device and print its secret (shown only once)')
    .argument('<id>', 'device id')
    .requiredOption('--kind <kind>', `one of: ${DEVICE_KINDS.join(', ')}`)
    .option('--patient <patientId>', 'assign to this patient at once')
    .option(`--from ${ISO}`, `start of that assignment (default now); ${isoHelp}`)
    .option('--manufacturer <name>')
    .option('--model <name>')
    .option('--serial <serial>')
    .option('--hub <hubId>', 'the hub that relays this device')
    .action(async (id: string, o: AddOptions) => {
      const input = validated(
        createDeviceInput,
        { id, kind: o.kind, patientId: o.patient, assignedFrom: o.from, manufacturer: o.manufacturer, model: o.model, serial: o.serial, hubId: o.hub },
        { id: '<id>', kind: '--kind', patientId: '--patient', assignedFrom: '--from', manufacturer: '--manufacturer', model: '--model', serial: '--serial', hubId: '--hub' },
      );
      ctx.output().result(await ctx.admin().createDevice(input), format.createdDevice);
    });

  device
    .command('assign')
    .description('assign the device to a patient; its previous assignment ends there')
    .argument('<deviceId>')
    .argument('<patientId>')
    .option(`--from ${ISO}`, `start of the assignment (default now); ${isoHelp}`)
    .action(async (deviceId: string, patientId: string, o: { from?: string }) => {
      const id = validId(deviceId, '<deviceId>');
      const input = validated(assignDeviceInput, { patientId, from: o.from }, { patientId: '<patientId>', from: '--from' });
      const a = await ctx.admin().assign(id, input);
      ctx.output().result(a, (v) => `Device ${id} assigned to patient ${v.patientId} from ${v.from}; ${v.attributedReadings} earlier reading(s) attributed.`);
    });

  device
    .command('unassign')
    .description('end the device’s current assignment')
    .argument('<deviceId>')
    .option(`--at ${ISO}`, `when the assignment ends (default now); ${isoHelp}`)
    .action(async (deviceId: string, o: { at?: string }) => {
      const id = validId(deviceId, '<deviceId>');
      const input = validated(unassignDeviceInput, { at: o.at }, { at: '--at' });
      const r = await ctx.admin().unassign(id, input);
      ctx.output().result(r, (v) => (v.ended === null ? `Device ${id} had no current assignment.` : `Device ${id} unassigned from patient ${v.ended.patientId} at ${v.ended.to ?? 'now'}.`));
    });

  device
    .command('rotate')
    .description('issue a new secret; the old one keeps working for a grace period')
    .argument('<deviceId>')
    .option('--grace <seconds>', 'how long the old secret keeps working (default: the gateway’s RPM_SECRET_ROTATION_GRACE_S)')
    .action(async (deviceId: string, o: { grace?: string }) => {
      const id = validId(deviceId, '<deviceId>');
      const input = validated(rotateSecretInput, { graceSeconds: toNumber(o.grace) }, { graceSeconds: '--grace' });
      ctx.output().result(await ctx.admin().rotateSecret(id, input), format.rotated);
    });

  device
    .command('revoke')
    .description('revoke the device: its secrets stop working and its MQTT sessions close at once')
    .argument('<deviceId>')
    .action(async (deviceId: string) => {
      const d = await ctx.admin().revoke(validId(deviceId, '<deviceId>'));
      ctx.output().result(d, (v) => `Device ${v.id} revoked${v.revokedAt === null ? '' : ` at ${v.revokedAt}`}; its secrets no longer work.`);
    });

  device
    .command('show')
    .description('show a device with its assignment history and connection status')
    .argument('<deviceId>')
    .action(async (deviceId: string) => {
      ctx.output().result(await ctx.admin().getDevice(validId(deviceId, '<deviceId>')), format.deviceDetails);
    });

  device
    .command('list')
    .description('list devices, ordered by id')
    .option('--limit <n>', 'at most this many (1-1000)', '100')
    .option('--after <deviceId>', 'start after this device id (paging)')
    .action(async (o: { limit: string; after?: string }) => {
      const page = { limit: validLimit(o.limit), after: o.after === undefined ? undefined : validId(o.after, '--after') };
      ctx.output().result(await ctx.admin().listDevices(page), format.deviceList);
    });

  device
    .command('rejections')
    .description('recent readings refused from this device, newest first')
    .argument('<deviceId>')
    .option('--limit <n>', 'at most this many (1-1000)', '100')
    .action(async (deviceId: string, o: { limit: string }) => {
      const id = validId(deviceId, '<deviceId>');
      ctx.output().result(await ctx.admin().rejections(id, validLimit(o.limit)), format.rejections);
    });
};
