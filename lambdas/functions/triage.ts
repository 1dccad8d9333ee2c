/** Triage: the pure decision over each classified asset (no I/O). */
import { withStageMs } from '../core/kpis/stage-timings';
import { loadTaxonomy } from '../core/taxonomy';
import { triage } from '../core/triage';
import { loadTriagePolicy } from '../core/triage-policy';
import { isOpen, type AssetBatch } from '../core/work-items';
import { instrumented } from './metrics';

export const handler = instrumented('Triage', triageBatch);

async function triageBatch(input: AssetBatch): Promise<AssetBatch> {
  const taxonomy = loadTaxonomy();
  const policy = loadTriagePolicy();
  return {
    assets: input.assets.map((asset) => {
      if (!isOpen(asset)) return asset;
      const started = Date.now();
      if (asset.classification === undefined) throw new Error(`asset ${asset.item.assetKey} reached Triage without classification`);
      const decision = triage(
        {
          listing: asset.item.listing,
          categoryLabels: asset.classification.categoryLabels,
          policyLabels: asset.classification.policyLabels,
          categoryModelId: asset.classification.categoryModel.modelId,
          categoryModelVariant: asset.classification.categoryModel.variant,
          merchantProfile: asset.item.merchantProfile,
          sampleKey: `${asset.item.batchId}#${asset.item.assetKey}`,
        },
        taxonomy,
        policy,
      );
      return withStageMs({ ...asset, decision }, 'Triage', started);
    }),
  };
}
