/**
 * Where the Hugging Face PyTorch inference Deep Learning Container (DLC) lives, per region.
 *
 * AWS publishes the DLCs from a per-region ECR registry. Most commercial regions share account 763104351884; the
 * opt-in regions each have their own account. The table mirrors the `huggingface-pytorch-inference` registries in the
 * SageMaker Python SDK (`image_uri_config/huggingface.json`) and the "Available DLC images" list of
 * aws/deep-learning-containers. Regions outside the `aws` partition (China, GovCloud, ISO) are deliberately left out:
 * pass an explicit `imageUri` there.
 */

/** ECR repository of the Hugging Face PyTorch inference DLC. */
export const HF_PYTORCH_INFERENCE_REPOSITORY = 'huggingface-pytorch-inference';

/**
 * Pinned CPU image tag: PyTorch 2.6.0, transformers 4.51.3, Python 3.12, Ubuntu 22.04.
 *
 * Published by AWS and listed on https://huggingface.co/docs/sagemaker/main/en/dlcs/available (the CPU inference row).
 * Used for serverless endpoints (which are CPU-only) and for CPU instance types.
 */
export const HF_DLC_CPU_TAG = '2.6.0-transformers4.51.3-cpu-py312-ubuntu22.04';

/** Pinned GPU image tag of the same release (CUDA 12.4), used for `ml.g*` / `ml.p*` instance types. */
export const HF_DLC_GPU_TAG = '2.6.0-transformers4.51.3-gpu-py312-cu124-ubuntu22.04';

/** DLC registry (ECR) account per commercial region. */
export const HF_DLC_REGISTRY_ACCOUNTS: Readonly<Record<string, string>> = Object.freeze({
  'us-east-1': '763104351884',
  'us-east-2': '763104351884',
  'us-west-1': '763104351884',
  'us-west-2': '763104351884',
  'ca-central-1': '763104351884',
  'ca-west-1': '204538143572',
  'sa-east-1': '763104351884',
  'eu-west-1': '763104351884',
  'eu-west-2': '763104351884',
  'eu-west-3': '763104351884',
  'eu-central-1': '763104351884',
  'eu-central-2': '380420809688',
  'eu-north-1': '763104351884',
  'eu-south-1': '692866216735',
  'eu-south-2': '503227376785',
  'ap-northeast-1': '763104351884',
  'ap-northeast-2': '763104351884',
  'ap-northeast-3': '364406365360',
  'ap-south-1': '763104351884',
  'ap-south-2': '772153158452',
  'ap-southeast-1': '763104351884',
  'ap-southeast-2': '763104351884',
  'ap-southeast-3': '907027046896',
  'ap-southeast-4': '457447274322',
  'ap-east-1': '871362719292',
  'af-south-1': '626614931356',
  'me-south-1': '217643126080',
  'me-central-1': '914824155844',
  'il-central-1': '780543022126',
});

/** Which build of the DLC to run. */
export type DlcAccelerator = 'cpu' | 'gpu';

/** An ECR image split into the parts an IAM policy needs. */
export interface EcrImageReference {
  /** Account that owns the registry. */
  readonly account: string;
  /** Region of the registry. */
  readonly region: string;
  /** Repository name, e.g. `huggingface-pytorch-inference`. */
  readonly repositoryName: string;
}

/**
 * Image URI of the Hugging Face PyTorch inference DLC in `region`, or `undefined` when the region is not in
 * {@link HF_DLC_REGISTRY_ACCOUNTS}.
 */
export function huggingFaceDlcImageUri(region: string, accelerator: DlcAccelerator): string | undefined {
  const account = Object.prototype.hasOwnProperty.call(HF_DLC_REGISTRY_ACCOUNTS, region) ? HF_DLC_REGISTRY_ACCOUNTS[region] : undefined;
  if (account === undefined) return undefined;
  const tag = accelerator === 'gpu' ? HF_DLC_GPU_TAG : HF_DLC_CPU_TAG;
  return `${account}.dkr.ecr.${region}.amazonaws.com/${HF_PYTORCH_INFERENCE_REPOSITORY}:${tag}`;
}

const ECR_IMAGE_URI = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9._/-]+?)(?::[\w.-]+|@sha256:[a-f0-9]{64})?$/;

/** Splits an ECR image URI (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag|@digest]`); `undefined` otherwise. */
export function parseEcrImageUri(uri: string): EcrImageReference | undefined {
  const match = ECR_IMAGE_URI.exec(uri);
  if (!match) return undefined;
  const [, account, region, repositoryName] = match;
  if (account === undefined || region === undefined || repositoryName === undefined) return undefined;
  return { account, region, repositoryName };
}

/** NVIDIA GPU families (`ml.g4dn`, `ml.g5`, `ml.gr6`, `ml.p4d`, ...) get the GPU build; all others the CPU build. */
export function acceleratorForInstanceType(instanceType: string): DlcAccelerator {
  return /^ml\.(g|gr|p)\d/.test(instanceType) ? 'gpu' : 'cpu';
}

/**
 * AWS Inferentia / Trainium instances need the Neuron build of the DLC, which this table does not cover.
 */
export function needsNeuronImage(instanceType: string): boolean {
  return /^ml\.(inf|trn)\d/.test(instanceType);
}
