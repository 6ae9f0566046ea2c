import { z } from "zod";

/**
 * LiteLLM's `litellm_params` for Bedrock. Keys given here are used as they are; without them the
 * standard AWS chain (environment, shared config/SSO profile, web identity, ECS/EC2 roles) finds
 * credentials at the first request, as the AWS SDK would.
 */
export const awsParamsSchema = z.object({
  aws_access_key_id: z.string().min(1).optional(),
  aws_secret_access_key: z.string().min(1).optional(),
  aws_session_token: z.string().min(1).optional(),
  aws_region_name: z.string().min(1).optional(),
  aws_profile_name: z.string().min(1).optional(),
  aws_bedrock_runtime_endpoint: z.string().url().optional(),
});

export interface AwsSettings {
  region: string;
  /** `https://bedrock-runtime.{region}.amazonaws.com`, or the configured override. */
  endpoint: string;
  /** Static keys from the config; undefined means the standard AWS credential chain. */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
  profile: string | undefined;
}

type AwsParams = z.infer<typeof awsParamsSchema> & { api_base?: string };

/** Bedrock's region when neither the config nor the environment names one, as in LiteLLM. */
const fallbackRegion = "us-west-2";

export class AwsConfigError extends Error {}

export function resolveAws(params: AwsParams, env: Readonly<Record<string, string | undefined>>): AwsSettings {
  const region = params.aws_region_name ?? env.AWS_REGION_NAME ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? fallbackRegion;
  const { aws_access_key_id: accessKeyId, aws_secret_access_key: secretAccessKey, aws_session_token: sessionToken } = params;
  // Half a key pair would silently fall back to another identity from the chain.
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new AwsConfigError("aws_access_key_id and aws_secret_access_key must be set together");
  }
  const credentials =
    accessKeyId !== undefined && secretAccessKey !== undefined
      ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }
      : undefined;
  return {
    region,
    endpoint: params.aws_bedrock_runtime_endpoint ?? params.api_base ?? `https://bedrock-runtime.${region}.amazonaws.com`,
    credentials,
    profile: params.aws_profile_name,
  };
}
