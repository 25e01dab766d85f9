import { z } from 'zod';

/**
 * How a resource type is written so that a resend never duplicates it (fhir.md §1.5):
 * conditional create (`If-None-Exist` on our identifier), else PUT to a deterministic id where
 * the server lets an update create, else search by identifier and create what is missing
 * (accepting the small race between the two).
 */
export type WriteInteraction = 'conditional-create' | 'update-as-create' | 'search-then-create';

export interface ServerPlan {
  readonly observation: WriteInteraction;
  /** 'logical': the server keeps no Device resources; Observations name devices by identifier. */
  readonly device: WriteInteraction | 'logical';
  /** Batch Bundles are accepted (system-level `batch` interaction). */
  readonly batch: boolean;
}

const interaction = z.looseObject({ code: z.string() });
const resource = z.looseObject({
  type: z.string(),
  interaction: z.array(interaction).optional(),
  conditionalCreate: z.boolean().optional(),
  updateCreate: z.boolean().optional(),
  searchParam: z.array(z.looseObject({ name: z.string() })).optional(),
});
export const capabilityStatement = z.looseObject({
  resourceType: z.literal('CapabilityStatement'),
  rest: z
    .array(
      z.looseObject({
        mode: z.string().optional(),
        interaction: z.array(interaction).optional(),
        resource: z.array(resource).optional(),
      }),
    )
    .optional(),
});
export type CapabilityStatement = z.infer<typeof capabilityStatement>;

/** When a server publishes no usable CapabilityStatement: the choice that is safe everywhere. */
export const CAUTIOUS_PLAN: ServerPlan = { observation: 'search-then-create', device: 'search-then-create', batch: false };

function interactionFor(r: z.infer<typeof resource> | undefined): WriteInteraction {
  if (r?.conditionalCreate === true) return 'conditional-create';
  if (r?.updateCreate === true) return 'update-as-create';
  return 'search-then-create';
}

/** Read once per destination; see `DestinationSession.plan`. */
export function planFrom(statement: CapabilityStatement): ServerPlan {
  const rest = statement.rest?.find((r) => r.mode === undefined || r.mode === 'server');
  const resources = rest?.resource ?? [];
  const observation = resources.find((r) => r.type === 'Observation');
  const device = resources.find((r) => r.type === 'Device');
  return {
    observation: interactionFor(observation),
    device: device === undefined ? 'logical' : interactionFor(device),
    batch: (rest?.interaction ?? []).some((i) => i.code === 'batch'),
  };
}
