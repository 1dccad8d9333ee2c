/**
 * The records table: one item per batch (`pk=BATCH#<id>`, `sk=BATCH`) and one per asset (`sk=ASSET#<key>`), on-demand,
 * point-in-time recovery, AWS-managed encryption (or a customer-managed KMS key); GSIs by merchant (history, erasure)
 * and by image hash (duplicates); TTL on the attribute only review claims carry (core/retention.ts).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { TTL_ATTRIBUTE } from '../../lambdas/core/retention';

export const MERCHANT_INDEX = 'byMerchant';
export const IMAGE_HASH_INDEX = 'byImageHash';

export interface RecordsTableProps {
  /**
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Let DynamoDB TTL delete items that carry {@link TTL_ATTRIBUTE} (lapsed review claims only).
   * @default true
   */
  readonly timeToLive?: boolean;
  /**
   * Customer-managed KMS key for the table.
   * @default AWS-managed key
   */
  readonly encryptionKey?: IKey;
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
      encryption: props.encryptionKey === undefined ? TableEncryptionV2.awsManagedKey() : TableEncryptionV2.customerManagedKey(props.encryptionKey),
      timeToLiveAttribute: props.timeToLive === false ? undefined : TTL_ATTRIBUTE,
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
