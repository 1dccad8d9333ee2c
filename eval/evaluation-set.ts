/** The whole labelled set the eval runs on: the committed synthetic set plus the real local-model outputs. */
import { LABELLED_SET_URL, readLabelledSetFile, type LabelledAsset } from './labelled-set';
import { readLocalModelOutputs, realAssets } from './real-outputs';

export interface EvaluationSet {
  assets: LabelledAsset[];
  synthetic: number;
  real: number;
  /** The generator's record of how the synthetic part was made (seed, mix, ...). */
  meta: Record<string, unknown>;
}

export function loadEvaluationSet(): EvaluationSet {
  const synthetic = readLabelledSetFile(LABELLED_SET_URL);
  const real = realAssets(readLocalModelOutputs());
  return { assets: [...synthetic.assets, ...real], synthetic: synthetic.assets.length, real: real.length, meta: synthetic.meta };
}
