/** Lineage common to every record a stage writes: pipeline, taxonomy and triage-policy versions. */
import type { Lineage } from './records';
import { loadTaxonomy } from './taxonomy';
import { loadTriagePolicy } from './triage-policy';

export function baseLineage(pipelineVersion: string): Lineage {
  return { pipelineVersion, taxonomyVersion: loadTaxonomy().version, policyVersion: loadTriagePolicy().version };
}
