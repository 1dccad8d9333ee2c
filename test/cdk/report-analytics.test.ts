/**
 * The Athena side of the reports, read from the synthesized stack: one Glue table per report table with the table
 * module's columns, partition projection on dt and the location under the reports bucket; the workgroup's enforced,
 * encrypted result location and scan cutoff; one named query per REPORT_QUERIES entry; and cdk-nag clean.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPORT_TABLES } from '../../lambdas/core/report-tables';
import { buildApp } from '../../lib/app';
import { ATHENA_RESULTS_PREFIX } from '../../lib/constructs/report-analytics';
import { REPORT_QUERIES } from '../../lib/constructs/report-queries';
import { PROJECT_ROOT } from '../../lib/constructs/stage-function';
import type { MediaTriageStack } from '../../lib/media-triage-stack';

type Resource = { Type: string; Properties: Record<string, unknown> };
interface TableInput {
  Name: string;
  PartitionKeys: Array<{ Name: string; Type: string }>;
  Parameters: Record<string, unknown>;
  StorageDescriptor: { Location: unknown; Columns: Array<{ Name: string; Type: string; Comment: string }>; SerdeInfo: { SerializationLibrary: string } };
}

let template: Template;
let stack: MediaTriageStack;
let resources: Record<string, Resource>;

/** Synthesizes as `cdk synth` does (cdk.json context, bundling skipped); an unacknowledged cdk-nag finding throws. */
beforeAll(() => {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  const saved = process.env[cxapi.CONTEXT_ENV];
  process.env[cxapi.CONTEXT_ENV] = JSON.stringify({
    ...cdkJson.context,
    [cxapi.CDK_APP_MODE_CONTEXT]: 'inmemory',
    [cxapi.FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: true,
  });
  try {
    const built = buildApp({ skipBundling: true, outdir: mkdtempSync(join(tmpdir(), 'report-analytics-test-')), region: 'eu-west-1' });
    built.app.synth();
    stack = built.stack;
    template = Template.fromStack(built.stack);
    resources = template.toJSON().Resources as Record<string, Resource>;
  } finally {
    if (saved === undefined) delete process.env[cxapi.CONTEXT_ENV];
    else process.env[cxapi.CONTEXT_ENV] = saved;
  }
});

const ofType = (type: string): Resource[] => Object.values(resources).filter((resource) => resource.Type === type);
const reportsBucketRef = (): string => stack.getLogicalId(stack.storage.reportsBucket.node.defaultChild as never);
/** An Fn::Join of literals and the reports bucket's Ref, rendered with `<bucket>` for the Ref. */
function rendered(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join === undefined) throw new Error(`not a string or Fn::Join: ${JSON.stringify(value)}`);
  return join[1]
    .map((part) => {
      if (typeof part === 'string') return part;
      expect(part).toEqual({ Ref: reportsBucketRef() });
      return '<bucket>';
    })
    .join(join[0]);
}

describe('Glue tables', () => {
  it('has one database and one table per report table, in it', () => {
    const databases = ofType('AWS::Glue::Database');
    expect(databases).toHaveLength(1);
    const databaseName = (databases[0]!.Properties.DatabaseInput as { Name: string }).Name;
    const tables = ofType('AWS::Glue::Table');
    expect(tables.map((table) => (table.Properties.TableInput as TableInput).Name).sort()).toEqual(REPORT_TABLES.map((table) => table.name).sort());
    for (const table of tables) expect(table.Properties.DatabaseName).toBe(databaseName);
  });

  it.each(REPORT_TABLES.map((table) => [table.name, table] as const))(
    '%s: the module’s columns and types, OpenCSVSerde, header skipped, dt projected',
    (name, table) => {
      const input = ofType('AWS::Glue::Table')
        .map((resource) => resource.Properties.TableInput as TableInput)
        .find((candidate) => candidate.Name === name)!;
      expect(input.StorageDescriptor.Columns.map((column) => [column.Name, column.Type])).toEqual(table.columns.map((column) => [column.name, column.type]));
      expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.apache.hadoop.hive.serde2.OpenCSVSerde');
      expect(input.Parameters['skip.header.line.count']).toBe('1');
      expect(input.PartitionKeys).toEqual([{ Name: 'dt', Type: 'string', Comment: expect.any(String) }]);
      // dt is a path segment only: a data column of the same name would be refused by Glue.
      expect(table.columns.map((column) => column.name)).not.toContain('dt');
      expect(input.Parameters).toMatchObject({ 'projection.enabled': 'true', 'projection.dt.type': 'date', 'projection.dt.format': 'yyyy-MM-dd' });
      expect(String(input.Parameters['projection.dt.range'])).toMatch(/^\d{4}-\d{2}-\d{2},NOW$/);
      const location = rendered(input.StorageDescriptor.Location);
      expect(location).toBe(`s3://<bucket>/reports/${name}/`);
      expect(rendered(input.Parameters['storage.location.template'])).toBe(`${location}dt=\${dt}/`);
    },
  );
});

describe('Athena workgroup', () => {
  it('enforces an SSE-encrypted result location in the reports bucket, outside reports/, with a scan cutoff', () => {
    const [workGroup] = ofType('AWS::Athena::WorkGroup');
    const configuration = workGroup!.Properties.WorkGroupConfiguration as {
      EnforceWorkGroupConfiguration: boolean;
      BytesScannedCutoffPerQuery: number;
      ResultConfiguration: { OutputLocation: unknown; EncryptionConfiguration: { EncryptionOption: string } };
    };
    expect(configuration.EnforceWorkGroupConfiguration).toBe(true);
    expect(configuration.BytesScannedCutoffPerQuery).toBeGreaterThan(0);
    expect(configuration.ResultConfiguration.EncryptionConfiguration.EncryptionOption).toMatch(/^(SSE_S3|SSE_KMS|CSE_KMS)$/);
    const output = rendered(configuration.ResultConfiguration.OutputLocation);
    expect(output).toBe(`s3://<bucket>/${ATHENA_RESULTS_PREFIX}`);
    expect(output.startsWith('s3://<bucket>/reports/')).toBe(false);
  });

  it('names every query of REPORT_QUERIES, in the workgroup and the database, with its SQL', () => {
    const databaseName = (ofType('AWS::Glue::Database')[0]!.Properties.DatabaseInput as { Name: string }).Name;
    const workGroupId = Object.entries(resources).find(([, resource]) => resource.Type === 'AWS::Athena::WorkGroup')![0];
    const queries = ofType('AWS::Athena::NamedQuery');
    expect(queries.map((query) => query.Properties.Name)).toEqual(REPORT_QUERIES.map((query) => query.name));
    for (const query of queries) {
      expect(query.Properties).toMatchObject({ Database: databaseName, WorkGroup: { Ref: workGroupId } });
      expect(query.Properties.QueryString).toBe(REPORT_QUERIES.find((known) => known.name === query.Properties.Name)!.sql);
    }
  });
});
