/**
 * Per-batch quality gates (config/quality-gates.json, versioned like the other config files; validated at synth
 * and when the Report Lambda starts). Each gate compares one figure of the batch with a warn and a fail threshold:
 * `above` gates fail when the figure is higher (reject rate, review rate, drift), `below` gates when it is lower
 * (gold accuracy, agreement). A gate whose figure does not exist yet — no reviews, no baseline — is `skipped` with
 * the reason, never scored as 0; the overall result is the worst evaluated gate (`pass` when none was evaluated).
 */
import { z } from 'zod';
import gatesFile from '../../../config/quality-gates.json';

const thresholds = z.object({ warn: z.number().min(0), fail: z.number().min(0) });
const gateSchema = z
  .object({ above: thresholds.optional(), below: thresholds.optional(), why: z.string().optional() })
  .refine((gate) => (gate.above === undefined) !== (gate.below === undefined), { message: 'a gate needs exactly one of above or below' })
  .refine((gate) => gate.above === undefined || gate.above.warn <= gate.above.fail, { message: 'above: warn must not exceed fail' })
  .refine((gate) => gate.below === undefined || gate.below.warn >= gate.below.fail, { message: 'below: warn must not be under fail' });

export const GATE_NAMES = ['rejectRate', 'reviewRate', 'categoryDrift', 'policyDrift', 'goldAccuracy', 'agreement'] as const;
export type GateName = (typeof GATE_NAMES)[number];

export const qualityGatesSchema = z.object({
  version: z.string().min(1),
  description: z.string().optional(),
  drift: z.object({
    baselineDays: z.number().int().min(1).max(90),
    epsilon: z.number().gt(0).lt(0.01),
    minBaselineAssets: z.number().int().min(1),
    why: z.string().optional(),
  }),
  gates: z.object(Object.fromEntries(GATE_NAMES.map((name) => [name, gateSchema])) as Record<GateName, typeof gateSchema>).strict(),
});

export type QualityGatesConfig = z.infer<typeof qualityGatesSchema>;

let loaded: QualityGatesConfig | undefined;

export function loadQualityGates(): QualityGatesConfig {
  loaded ??= qualityGatesSchema.parse(gatesFile);
  return loaded;
}

export type GateStatus = 'pass' | 'warn' | 'fail' | 'skipped';

export interface GateResult {
  gate: GateName;
  status: GateStatus;
  /** The batch's figure (a fraction, or a PSI); null when skipped. */
  value: number | null;
  direction: 'above' | 'below';
  warn: number;
  fail: number;
  /** Why a gate was skipped ("no reviews yet", "no baseline yet"). */
  note?: string;
}

export interface GateReport {
  version: string;
  overall: Exclude<GateStatus, 'skipped'>;
  gates: GateResult[];
}

/** The figures the gates judge; a null figure skips its gate with the note given. */
export type GateInputs = Record<GateName, { value: number | null; note?: string }>;

const SEVERITY: Record<GateStatus, number> = { skipped: -1, pass: 0, warn: 1, fail: 2 };

export function judgeGate(gate: GateName, config: QualityGatesConfig, input: { value: number | null; note?: string }): GateResult {
  const rule = config.gates[gate];
  const direction = rule.above === undefined ? 'below' : 'above';
  const limits = (rule.above ?? rule.below)!;
  const base = { gate, value: input.value, direction, warn: limits.warn, fail: limits.fail } as const;
  if (input.value === null) return { ...base, status: 'skipped', note: input.note ?? 'no data' };
  const value = input.value;
  const beyond = (limit: number): boolean => (direction === 'above' ? value > limit : value < limit);
  const status: GateStatus = beyond(limits.fail) ? 'fail' : beyond(limits.warn) ? 'warn' : 'pass';
  return { ...base, status };
}

export function evaluateGates(inputs: GateInputs, config: QualityGatesConfig = loadQualityGates()): GateReport {
  const gates = GATE_NAMES.map((gate) => judgeGate(gate, config, inputs[gate]));
  const worst = gates.reduce<GateStatus>((acc, gate) => (SEVERITY[gate.status] > SEVERITY[acc] ? gate.status : acc), 'pass');
  return { version: config.version, overall: worst === 'skipped' ? 'pass' : worst, gates };
}
