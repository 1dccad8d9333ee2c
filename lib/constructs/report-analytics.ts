/**
 * Athena over the report tables: a Glue database, one Glue table per report table (columns from
 * lambdas/core/report-tables.ts), an Athena workgroup and the named queries (report-queries.ts).
 *
 * - SerDe: OpenCSVSerde, because the CSVs quote any cell with a comma or a quote (titles, explanations, the
 *   attributes JSON) and LazySimpleSerDe does not understand quoting: it would split such a cell into columns.
 *   OpenCSVSerde reads an empty field as '' and cannot read one as a number, hence the table module's typing rule;
 *   it cannot read a cell spanning lines either, so the writers turn line breaks into spaces. The header row is
 *   skipped with `skip.header.line.count`.
 * - Partitions: `dt` is projected as a date range (no crawler, no MSCK REPAIR). `batch_id` is not a partition key:
 *   an injected projection key forces every query to name its batches (CONSTRAINT_VIOLATION otherwise), which would
 *   rule out the cross-batch questions the named queries ask; each CSV carries `batch_id` as its first column instead,
 *   and Athena reads the `batch_id=<id>/` folders below a `dt=` partition's location.
 * - Workgroup: its configuration is enforced (clients cannot pick another result location or turn encryption off),
 *   results are SSE-S3 encrypted under `athena-results/` of the reports bucket (block public access, SSE, TLS-only,
 *   access logs), and a query that would scan more than `bytesScannedCutoffPerQuery` is cancelled.
 */
import { Stack, Token } from 'aws-cdk-lib';
import { CfnWorkGroup, CfnNamedQuery } from 'aws-cdk-lib/aws-athena';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { REPORT_TABLES, type ReportTable } from '../../lambdas/core/report-tables';
import { REPORT_QUERIES } from './report-queries';

/** Prefix of the reports bucket that holds Athena's query results (outside `reports/`, so no table reads them). */
export const ATHENA_RESULTS_PREFIX = 'athena-results/';

export interface ReportAnalyticsProps {
  readonly reportsBucket: IBucket;
  /**
   * First `dt` the projection knows (yyyy-MM-dd); partitions before it are not read.
   * @default '2026-01-01'
   */
  readonly firstReportDate?: string;
  /**
   * Queries that would scan more are cancelled.
   * @default 10 GiB
   */
  readonly bytesScannedCutoffPerQuery?: number;
  /**
   * The reports bucket's customer-managed key: query results are then SSE-KMS with it too.
   * @default SSE-S3 results
   */
  readonly encryptionKey?: IKey;
}

export class ReportAnalytics extends Construct {
  readonly databaseName: string;
  readonly workGroup: CfnWorkGroup;
  readonly tables: CfnTable[];
  readonly namedQueries: CfnNamedQuery[];

  constructor(scope: Construct, id: string, props: ReportAnalyticsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // Glue database names: lower case, digits and underscores; one per stack so two stacks in an account coexist.
    if (Token.isUnresolved(stack.stackName)) throw new Error('ReportAnalytics needs a stack with a concrete name (it names the Glue database)');
    this.databaseName = `${stack.stackName.toLowerCase().replace(/[^a-z0-9]+/g, '_')}_reports`;
    const database = new CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: { name: this.databaseName, description: 'media-triage report tables (README "Report tables")' },
    });
    const bucket = props.reportsBucket.bucketName;
    this.tables = REPORT_TABLES.map((table) => {
      const cfn = new CfnTable(this, `Table${pascal(table.name)}`, {
        catalogId: stack.account,
        databaseName: this.databaseName,
        tableInput: tableInput(table, bucket, props.firstReportDate ?? '2026-01-01'),
      });
      cfn.addResourceDependency(database);
      return cfn;
    });

    this.workGroup = new CfnWorkGroup(this, 'WorkGroup', {
      name: `${stack.stackName}-reports`,
      description: 'media-triage reports: enforced, encrypted result location and a per-query scan limit',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery ?? 10 * 1024 ** 3,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${bucket}/${ATHENA_RESULTS_PREFIX}`,
          encryptionConfiguration:
            props.encryptionKey === undefined ? { encryptionOption: 'SSE_S3' } : { encryptionOption: 'SSE_KMS', kmsKey: props.encryptionKey.keyArn },
        },
      },
    });

    this.namedQueries = REPORT_QUERIES.map((query) => {
      const cfn = new CfnNamedQuery(this, `Query${pascal(query.name)}`, {
        name: query.name,
        description: query.description,
        database: this.databaseName,
        workGroup: this.workGroup.ref,
        queryString: query.sql,
      });
      cfn.addResourceDependency(database);
      return cfn;
    });
  }
}

function tableInput(table: ReportTable, bucket: string, firstReportDate: string): CfnTable.TableInputProperty {
  const location = `s3://${bucket}/reports/${table.name}/`;
  return {
    name: table.name,
    description: table.description,
    tableType: 'EXTERNAL_TABLE',
    partitionKeys: [{ name: 'dt', type: 'string', comment: 'Date the batch was first received (yyyy-MM-dd).' }],
    parameters: {
      classification: 'csv',
      'skip.header.line.count': '1',
      'projection.enabled': 'true',
      'projection.dt.type': 'date',
      'projection.dt.format': 'yyyy-MM-dd',
      'projection.dt.range': `${firstReportDate},NOW`,
      'projection.dt.interval': '1',
      'projection.dt.interval.unit': 'DAYS',
      'storage.location.template': `${location}dt=\${dt}/`,
    },
    storageDescriptor: {
      location,
      columns: table.columns.map((column) => ({ name: column.name, type: column.type, comment: column.description.slice(0, 255) })),
      inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
      outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
      serdeInfo: {
        serializationLibrary: 'org.apache.hadoop.hive.serde2.OpenCSVSerde',
        parameters: { separatorChar: ',', quoteChar: '"', escapeChar: '\\' },
      },
    },
  };
}

function pascal(name: string): string {
  return name.replace(/(^|_)([a-z])/g, (_match, _sep: string, letter: string) => letter.toUpperCase());
}
