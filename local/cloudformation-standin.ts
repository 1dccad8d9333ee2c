/**
 * A minimal local stand-in for the CloudFormation API — DescribeStacks only — so the CLI's deployed-stack target
 * (`--stack NAME`) is tested through the very resolution it uses against AWS: the real
 * `@aws-sdk/client-cloudformation` client, pointed here with `AWS_ENDPOINT_URL_CLOUDFORMATION`, reads the outputs of
 * a seeded stack whose names are the local stand-ins' resources.
 *
 * Wire format (the SDK's awsQuery protocol): `POST /` with a form body `Action=DescribeStacks&Version=2010-05-15&
 * StackName=…`; the reply is XML (`DescribeStacksResponse/DescribeStacksResult/Stacks/member/Outputs/member`). A
 * missing stack is HTTP 400 `ErrorResponse/Error` with `Code` `ValidationError` and the service's message
 * "Stack with id X does not exist", which the SDK raises as an exception named `ValidationError`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './listen';

export interface SeedStack {
  name: string;
  status?: string;
  outputs: Record<string, string>;
}

export interface CloudFormationStandIn {
  url: string;
  stop(): Promise<void>;
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function reply(response: ServerResponse, status: number, payload: string): void {
  response.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
  response.end(payload);
}

function describeStacks(stack: SeedStack, region: string): string {
  const outputs = Object.entries(stack.outputs)
    .map(([key, value]) => `<member><OutputKey>${xml(key)}</OutputKey><OutputValue>${xml(value)}</OutputValue></member>`)
    .join('');
  return (
    '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>' +
    `<StackName>${xml(stack.name)}</StackName>` +
    `<StackId>arn:aws:cloudformation:${region}:000000000000:stack/${xml(stack.name)}/00000000-0000-0000-0000-000000000000</StackId>` +
    `<CreationTime>2026-01-01T00:00:00.000Z</CreationTime><StackStatus>${xml(stack.status ?? 'CREATE_COMPLETE')}</StackStatus>` +
    `<Outputs>${outputs}</Outputs>` +
    `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></DescribeStacksResponse>`
  );
}

function error(code: string, message: string): string {
  return `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>${xml(code)}</Code><Message>${xml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}

export async function startCloudFormationStandIn(stacks: SeedStack[], region = 'us-east-1'): Promise<CloudFormationStandIn> {
  const byName = new Map(stacks.map((stack) => [stack.name, stack]));
  const server = createServer((request, response) => {
    void body(request).then((raw) => {
      const form = new URLSearchParams(raw);
      const action = form.get('Action');
      if (request.method !== 'POST' || action !== 'DescribeStacks') {
        reply(response, 400, error('InvalidAction', `the local CloudFormation stand-in supports DescribeStacks only, not ${action ?? request.method}`));
        return;
      }
      const name = form.get('StackName') ?? '';
      const stack = byName.get(name);
      if (stack === undefined) {
        reply(response, 400, error('ValidationError', `Stack with id ${name} does not exist`));
        return;
      }
      reply(response, 200, describeStacks(stack, region));
    });
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
