/**
 * Operations monitoring for the stack: one CloudWatch dashboard, the alarms, and the SNS topic every alarm notifies.
 *
 * The dashboard shows the pipeline's executions (and the Distributed Map's child executions), assets by outcome and
 * reason code (the stages' EMF metrics, lambdas/functions/metrics.ts), the review queue's depth and oldest message, the
 * model endpoints' invocations, latency and 5XX errors, Classify's own view of the model calls (latency, errors,
 * retries), each Lambda stage's errors, throttles and duration, the dead-letter queues, and the state of every alarm.
 *
 * Alarms (each description starts with its kind in brackets; README "Monitoring" lists kinds and thresholds, and a test
 * keeps it in step with the template): failed or timed-out executions, messages in each dead-letter queue (the upload
 * trigger's, the review queue's, the nightly schedule's), endpoint 5XX errors and p90 model latency per endpoint, Lambda
 * errors and throttles per function, errors of the nightly jobs. Alarms created elsewhere (the review backlog's oldest
 * message age in lib/constructs/reviewer-access.ts, the endpoints' deployment-rollback alarms) are given the same action
 * rather than duplicated. Missing data (no traffic) never breaches.
 *
 * The topic is encrypted with a customer-managed KMS key (CloudWatch cannot publish to a topic under the AWS-managed
 * SNS key) whose policy lets CloudWatch use it, and its policy refuses publishing without TLS.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TreatMissingData,
  type IAlarm,
  type IMetric,
  type IWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { OUTCOMES } from '../../lambdas/core/outcomes';
import { METRIC_DIMENSIONS, METRIC_NAMES, type ModelKind } from '../../lambdas/functions/metrics';

/** CloudWatch namespace of the stages' EMF metrics unless the stack is given another. */
export const DEFAULT_METRICS_NAMESPACE = 'MediaTriage';

/** The alarm kinds this construct creates, as the first word of each alarm's description (`[Kind] …`). */
export const ALARM_KINDS = [
  'ExecutionsFailed',
  'TriggerDeadLetters',
  'ReviewDeadLetters',
  'NightlyDeadLetters',
  'NightlyJobErrors',
  'Endpoint5XX',
  'EndpointModelLatency',
  'LambdaErrors',
  'LambdaThrottles',
] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];

export interface MonitoringThresholds {
  /** Failed plus timed-out executions in 5 minutes. @default 1 */
  readonly failedExecutions: number;
  /** 5XX answers of one endpoint in 5 minutes. @default 5 */
  readonly endpoint5xxErrors: number;
  /** p90 ModelLatency of one endpoint, three 5-minute periods running. @default Duration.seconds(10) */
  readonly endpointModelLatencyP90: Duration;
  /** Errors of one function in 5 minutes. @default 1 */
  readonly lambdaErrors: number;
  /** Throttled invocations of one function in 5 minutes. @default 1 */
  readonly lambdaThrottles: number;
}

export const DEFAULT_THRESHOLDS: MonitoringThresholds = {
  failedExecutions: 1,
  endpoint5xxErrors: 5,
  endpointModelLatencyP90: Duration.seconds(10),
  lambdaErrors: 1,
  lambdaThrottles: 1,
};

export interface MonitoredEndpoint {
  readonly model: ModelKind;
  readonly endpointName: string;
  readonly variantName: string;
}

export interface MonitoringProps {
  readonly stateMachine: StateMachine;
  /** The Distributed Map's label: its child executions report under `<state machine ARN>/<label>`. */
  readonly mapRunLabel: string;
  /** The Lambda stages by stage name. */
  readonly functions: Readonly<Record<string, IFunction>>;
  readonly triggerDeadLetterQueue: IQueue;
  readonly reviewQueue: IQueue;
  readonly reviewDeadLetterQueue: IQueue;
  readonly nightlyDeadLetterQueue: IQueue;
  readonly endpoints: readonly MonitoredEndpoint[];
  /** Alarms made elsewhere that must notify the topic too (the review backlog alarm, endpoint rollback alarms). */
  readonly existingAlarms: readonly IAlarm[];
  /** Namespace of the EMF metrics (POWERTOOLS_METRICS_NAMESPACE of the functions). */
  readonly metricsNamespace: string;
  /** Their `service` dimension (POWERTOOLS_SERVICE_NAME). */
  readonly metricsService: string;
  /**
   * An address to subscribe to the alarm topic (it must confirm the subscription).
   * @default no subscription
   */
  readonly alarmEmail?: string;
  /** @default DEFAULT_THRESHOLDS */
  readonly thresholds?: Partial<MonitoringThresholds>;
}

const PERIOD = Duration.minutes(5);

export class Monitoring extends Construct {
  readonly topic: Topic;
  /** The topic's own key: CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key. */
  readonly topicKey: Key;
  readonly dashboard: Dashboard;
  /** Every alarm that notifies the topic: those created here and the existing ones given the action. */
  readonly alarms: IAlarm[] = [];
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const thresholds = { ...DEFAULT_THRESHOLDS, ...props.thresholds };
    const stackName = Stack.of(this).stackName;

    const key = (this.topicKey = new Key(this, 'TopicKey', {
      description: `${stackName} alarm topic encryption`,
      enableKeyRotation: true,
    }));
    // CloudWatch publishes alarm notifications to the encrypted topic with this key.
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new Topic(this, 'AlarmTopic', { displayName: `${stackName} alarms`, masterKey: key, enforceSSL: true });
    if (props.alarmEmail !== undefined && props.alarmEmail !== '') this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.action = new SnsAction(this.topic);

    const emf = (metricName: string, dimensions: Record<string, string> = {}, statistic = 'Sum'): Metric =>
      new Metric({
        namespace: props.metricsNamespace,
        metricName,
        dimensionsMap: { service: props.metricsService, ...dimensions },
        statistic,
        period: PERIOD,
      });
    const sm = props.stateMachine;
    const mapRuns = (metricName: string): Metric =>
      new Metric({
        namespace: 'AWS/States',
        metricName,
        dimensionsMap: { StateMachineArn: `${sm.stateMachineArn}/${props.mapRunLabel}` },
        statistic: 'Sum',
        period: PERIOD,
        label: `map children ${metricName.replace('Executions', '').toLowerCase()}`,
      });
    const sageMaker = (endpoint: MonitoredEndpoint, metricName: string, statistic: string): Metric =>
      new Metric({
        namespace: 'AWS/SageMaker',
        metricName,
        dimensionsMap: { EndpointName: endpoint.endpointName, VariantName: endpoint.variantName },
        statistic,
        period: PERIOD,
        label: `${endpoint.model} ${metricName} ${statistic}`,
      });
    const depth = (queue: IQueue, label: string): IMetric => queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum', label });

    // --- alarms -----------------------------------------------------------------------------------------------------
    this.alarm('ExecutionsFailed', 'Executions', {
      description: 'Triage executions failed or timed out: a batch did not finish (the nightly sweep re-drives it; look at the execution first).',
      metric: new MathExpression({
        expression: 'failed + timedOut',
        usingMetrics: { failed: sm.metricFailed({ period: PERIOD }), timedOut: sm.metricTimedOut({ period: PERIOD }) },
        period: PERIOD,
        label: 'failed + timed out executions',
      }),
      threshold: thresholds.failedExecutions,
    });
    const deadLetters: Array<[AlarmKind, string, IQueue, string]> = [
      [
        'TriggerDeadLetters',
        'TriggerDeadLetters',
        props.triggerDeadLetterQueue,
        'Upload events EventBridge could not turn into an execution (the nightly sweep starts those batches).',
      ],
      [
        'ReviewDeadLetters',
        'ReviewDeadLetters',
        props.reviewDeadLetterQueue,
        'Review messages received too often without a decision were dead-lettered: reviewers cannot settle them.',
      ],
      ['NightlyDeadLetters', 'NightlyDeadLetters', props.nightlyDeadLetterQueue, 'EventBridge Scheduler could not invoke the Nightly function.'],
    ];
    for (const [kind, id, queue, description] of deadLetters) {
      this.alarm(kind, id, { description, metric: depth(queue, `${kind} visible`), threshold: 1 });
    }
    this.alarm('NightlyJobErrors', 'NightlyJobErrors', {
      description: 'A nightly job (or one of its items) failed; its log line names the job and the errors.',
      metric: emf(METRIC_NAMES.nightlyJobErrors),
      threshold: 1,
    });
    for (const endpoint of props.endpoints) {
      const name = endpoint.model === 'category' ? 'Category' : 'Policy';
      this.alarm('Endpoint5XX', `${name}Endpoint5XX`, {
        description: `The ${endpoint.model} endpoint answered with 5XX errors (Classify retries, then records MODEL_ERROR).`,
        metric: sageMaker(endpoint, 'Invocation5XXErrors', 'Sum'),
        threshold: thresholds.endpoint5xxErrors,
      });
      this.alarm('EndpointModelLatency', `${name}EndpointModelLatency`, {
        description: `The ${endpoint.model} endpoint's p90 model latency is high: Classify's time budget (and the Express child's 5 minutes) are at risk.`,
        // ModelLatency is reported in microseconds.
        metric: sageMaker(endpoint, 'ModelLatency', 'p90'),
        threshold: thresholds.endpointModelLatencyP90.toMilliseconds() * 1000,
        evaluationPeriods: 3,
      });
    }
    for (const [stage, fn] of Object.entries(props.functions)) {
      this.alarm('LambdaErrors', `${stage}Errors`, {
        description: `The ${stage} function failed invocations (Step Functions retries or catches them; see its log group).`,
        metric: fn.metricErrors({ period: PERIOD, statistic: 'Sum' }),
        threshold: thresholds.lambdaErrors,
      });
      this.alarm('LambdaThrottles', `${stage}Throttles`, {
        description: `The ${stage} function was throttled: the account's Lambda concurrency is exhausted.`,
        metric: fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }),
        threshold: thresholds.lambdaThrottles,
      });
    }
    for (const existing of props.existingAlarms) {
      if (existing instanceof Alarm) existing.addAlarmAction(this.action);
      else throw new Error(`alarm ${existing.node.path} cannot take an action: pass the Alarm itself`);
      this.alarms.push(existing);
    }

    // --- dashboard --------------------------------------------------------------------------------------------------
    const functions = Object.entries(props.functions);
    const perFunction = (title: string, metric: (fn: IFunction, stage: string) => IMetric): GraphWidget =>
      new GraphWidget({ title, width: 8, left: functions.map(([stage, fn]) => metric(fn, stage)) });
    const widgets: IWidget[][] = [
      [
        new GraphWidget({
          title: 'Executions',
          width: 12,
          left: [
            sm.metricStarted({ period: PERIOD, label: 'started' }),
            sm.metricSucceeded({ period: PERIOD, label: 'succeeded' }),
            sm.metricFailed({ period: PERIOD, label: 'failed' }),
            sm.metricTimedOut({ period: PERIOD, label: 'timed out' }),
            sm.metricAborted({ period: PERIOD, label: 'aborted' }),
          ],
        }),
        new GraphWidget({
          title: 'Map run child executions (failures)',
          width: 12,
          left: ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted'].map(mapRuns),
        }),
      ],
      [
        new GraphWidget({
          title: 'Assets by outcome',
          width: 12,
          stacked: true,
          left: OUTCOMES.map((outcome) => emf(METRIC_NAMES.assets, { [METRIC_DIMENSIONS.outcome]: outcome }).with({ label: outcome })),
        }),
        new GraphWidget({
          title: 'Reason codes',
          width: 12,
          left: [
            new MathExpression({
              // A search, not one line per code: only the codes that occurred are drawn.
              expression: `SEARCH('{${props.metricsNamespace},${METRIC_DIMENSIONS.reason},service} MetricName="${METRIC_NAMES.assetReasons}" service="${props.metricsService}"', 'Sum', ${PERIOD.toSeconds()})`,
              usingMetrics: {},
              label: '',
              period: PERIOD,
            }),
          ],
        }),
      ],
      [
        new GraphWidget({
          title: 'Review queue',
          width: 12,
          left: [
            props.reviewQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum', label: 'waiting' }),
            props.reviewQueue.metricApproximateNumberOfMessagesNotVisible({ period: PERIOD, statistic: 'Maximum', label: 'claimed' }),
          ],
          right: [props.reviewQueue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum', label: 'oldest message age (s)' })],
        }),
        new GraphWidget({
          title: 'Dead-letter queues',
          width: 12,
          left: [
            depth(props.triggerDeadLetterQueue, 'upload trigger'),
            depth(props.reviewDeadLetterQueue, 'review'),
            depth(props.nightlyDeadLetterQueue, 'nightly schedule'),
          ],
        }),
      ],
      [
        new GraphWidget({
          title: 'Endpoints: invocations and 5XX',
          width: 8,
          left: props.endpoints.map((endpoint) => sageMaker(endpoint, 'Invocations', 'Sum')),
          right: props.endpoints.map((endpoint) => sageMaker(endpoint, 'Invocation5XXErrors', 'Sum')),
        }),
        new GraphWidget({
          title: 'Endpoints: model latency (µs)',
          width: 8,
          left: props.endpoints.flatMap((endpoint) => [sageMaker(endpoint, 'ModelLatency', 'p50'), sageMaker(endpoint, 'ModelLatency', 'p90')]),
        }),
        new GraphWidget({
          title: 'Classify: model calls',
          width: 8,
          left: (['category', 'policy'] as const).map((model) =>
            emf(METRIC_NAMES.modelLatency, { [METRIC_DIMENSIONS.model]: model }, 'p90').with({ label: `${model} latency p90 (ms)` }),
          ),
          right: (['category', 'policy'] as const).flatMap((model) => [
            emf(METRIC_NAMES.modelErrors, { [METRIC_DIMENSIONS.model]: model }).with({ label: `${model} errors` }),
            emf(METRIC_NAMES.modelRetries, { [METRIC_DIMENSIONS.model]: model }).with({ label: `${model} retries` }),
          ]),
        }),
      ],
      [
        perFunction('Lambda errors', (fn, stage) => fn.metricErrors({ period: PERIOD, statistic: 'Sum', label: stage })),
        perFunction('Lambda throttles', (fn, stage) => fn.metricThrottles({ period: PERIOD, statistic: 'Sum', label: stage })),
        perFunction('Lambda duration p90 (ms)', (fn, stage) => fn.metricDuration({ period: PERIOD, statistic: 'p90', label: stage })),
      ],
      [new AlarmStatusWidget({ title: 'Alarms', width: 24, alarms: this.alarms })],
    ];
    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: `${stackName}-operations`, widgets });
  }

  private alarm(kind: AlarmKind, id: string, options: { description: string; metric: IMetric; threshold: number; evaluationPeriods?: number }): Alarm {
    const alarm = new Alarm(this, `${id}Alarm`, {
      alarmDescription: `[${kind}] ${options.description}`,
      metric: options.metric,
      threshold: options.threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }
}
