import type { EventStreamCodec } from "@smithy/core/event-streams";
import type { SignatureV4 } from "@smithy/signature-v4";
import type { Deployment } from "../../config";
import { UpstreamError } from "../types";

/**
 * The AWS pieces Bedrock needs: SigV4 signing, the event-stream codec and the standard credential
 * chain. They load on the first Bedrock request, so a gateway without Bedrock models does not
 * carry them (about 12 MB resident, more with the credential chain).
 */

export interface AwsLibraries {
  SignatureV4: typeof SignatureV4;
  Hash: typeof import("@smithy/core/serde").Hash;
  codec: EventStreamCodec;
  getChunkedStream: typeof import("@smithy/core/event-streams").getChunkedStream;
  toUtf8: typeof import("@smithy/core/serde").toUtf8;
}

let loading: Promise<AwsLibraries> | undefined;

export function loadAwsLibraries(): Promise<AwsLibraries> {
  loading ??= Promise.all([import("@smithy/signature-v4"), import("@smithy/core/serde"), import("@smithy/core/event-streams")]).then(
    ([signature, serde, eventStreams]) => ({
      SignatureV4: signature.SignatureV4,
      Hash: serde.Hash,
      codec: new eventStreams.EventStreamCodec(serde.toUtf8, serde.fromUtf8),
      getChunkedStream: eventStreams.getChunkedStream,
      toUtf8: serde.toUtf8,
    }),
  );
  return loading;
}

type CredentialProvider = () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>;

/** The standard chain for one profile (or the default), memoised: it caches and refreshes what it finds. */
const chains = new Map<string, CredentialProvider>();

function standardChain(profile: string | undefined): CredentialProvider {
  const key = profile ?? "";
  let chain = chains.get(key);
  if (!chain) {
    let inner: Promise<CredentialProvider> | undefined;
    chain = async () => {
      inner ??= import("@aws-sdk/credential-provider-node").then(({ defaultProvider }) =>
        defaultProvider(profile ? { profile } : {}),
      );
      try {
        return await (await inner)();
      } catch (err) {
        // The chain's own message names the sources it tried; it never contains a secret.
        throw new UpstreamError("unreachable", `no AWS credentials for Bedrock: ${(err as Error).message}`);
      }
    };
    chains.set(key, chain);
  }
  return chain;
}

const signers = new Map<string, SignatureV4>();

export function signerFor(libraries: AwsLibraries, deployment: Deployment): SignatureV4 {
  const aws = deployment.aws;
  if (!aws) throw new UpstreamError("unreachable", `model ${deployment.modelName} has no AWS settings`);
  let signer = signers.get(deployment.id);
  if (!signer) {
    signer = new libraries.SignatureV4({
      service: "bedrock",
      region: aws.region,
      credentials: aws.credentials ?? standardChain(aws.profile),
      sha256: libraries.Hash.bind(null, "sha256"),
    });
    signers.set(deployment.id, signer);
  }
  return signer;
}
