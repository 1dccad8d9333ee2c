/**
 * What an operator needs to recover a batch or the review queue on AWS, as one managed policy to attach to the
 * on-call role (README "Recovery"):
 *
 * - **Redrive a failed or timed-out batch execution** (`states:RedriveExecution` on this state machine's executions):
 *   Step Functions restarts the Standard parent from the state that failed. A failed Distributed Map state is redriven
 *   as a Map Run redrive — only its failed and not-started child executions run again — which the state machine's own
 *   role performs (aws-cdk-lib's DistributedMapPolicy grants it `states:RedriveExecution` on the map's children).
 *   Describing and listing executions and Map Runs lets the operator find what to redrive.
 * - **Move dead-lettered review messages back** (`sqs:StartMessageMoveTask` and its list/cancel, with the receive,
 *   delete and attributes the move task uses on the dead-letter queue and the send on the review queue).
 *
 * Nothing here reads or writes records or images: a redriven execution does that with the stages' own roles.
 */
import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface OperatorAccessProps {
  readonly stateMachine: IStateMachine;
  /** The Distributed Map state's label (its child executions are `<state machine>/<label>:<id>`). */
  readonly mapLabel: string;
  readonly reviewQueue: IQueue;
  readonly reviewDeadLetterQueue: IQueue;
}

/** The actions a redrive of the review queue's dead-letter queue needs (SQS's documented DLQ-redrive permissions). */
export const DLQ_REDRIVE_SOURCE_ACTIONS = [
  'sqs:StartMessageMoveTask',
  'sqs:ListMessageMoveTasks',
  'sqs:CancelMessageMoveTask',
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
] as const;

export class OperatorAccess extends Construct {
  readonly policy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: OperatorAccessProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const name = Arn.split(props.stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName!;
    const arn = (resource: string, resourceName: string): string =>
      stack.formatArn({ service: 'states', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.policy = new ManagedPolicy(this, 'Policy', {
      description: 'media-triage operators: redrive failed batch executions and Map Runs, move dead-lettered review messages back',
      statements: [
        new PolicyStatement({
          sid: 'FindExecutions',
          actions: ['states:ListExecutions', 'states:ListMapRuns', 'states:DescribeStateMachine'],
          resources: [props.stateMachine.stateMachineArn],
        }),
        new PolicyStatement({
          sid: 'InspectAndRedriveExecutions',
          actions: ['states:DescribeExecution', 'states:GetExecutionHistory', 'states:RedriveExecution'],
          resources: [arn('execution', `${name}:*`)],
        }),
        new PolicyStatement({
          sid: 'InspectMapRuns',
          actions: ['states:DescribeMapRun', 'states:ListExecutions'],
          resources: [arn('mapRun', `${name}/${props.mapLabel}:*`)],
        }),
        new PolicyStatement({ sid: 'RedriveReviewDeadLetters', actions: [...DLQ_REDRIVE_SOURCE_ACTIONS], resources: [props.reviewDeadLetterQueue.queueArn] }),
        new PolicyStatement({ sid: 'BackToTheReviewQueue', actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes'], resources: [props.reviewQueue.queueArn] }),
      ],
    });
  }
}
