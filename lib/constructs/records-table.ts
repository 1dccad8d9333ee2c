/**
 * The records table: one item per batch (`pk=BATCH#<id>`, `sk=BATCH`) and one per asset (`sk=ASSET#<key>`), on-demand,
 * point-in-time recovery, AWS-managed encryption; GSIs by merchant (history, erasure) and by image hash (duplicates).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export const MERCHANT_INDEX = 'byMerchant';
export const IMAGE_HASH_INDEX = 'byImageHash';

export interface RecordsTableProps {
  /**
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class RecordsTable extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: RecordsTableProps = {}) {
    super(scope, id);
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryptionV2.awsManagedKey(),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      globalSecondaryIndexes: [
        {
          indexName: MERCHANT_INDEX,
          partitionKey: { name: 'merchantId', type: AttributeType.STRING },
          sortKey: { name: 'decidedAt', type: AttributeType.STRING },
        },
        {
          // The same image across batches and merchants (CrossCheck's exact-duplicate lookup).
          indexName: IMAGE_HASH_INDEX,
          partitionKey: { name: 'perceptualHash', type: AttributeType.STRING },
          sortKey: { name: 'decidedAt', type: AttributeType.STRING },
        },
      ],
    });
  }
}
