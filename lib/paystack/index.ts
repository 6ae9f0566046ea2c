export { createPaystackClient, PaystackError, type PaystackClient, type InitializeInput } from "./client";
export { signPaystackBody, verifyPaystackSignature } from "./signature";
export * from "./schemas";
