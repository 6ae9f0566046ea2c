/** A gateway config with two priced mock models: enough for key and sync tests, no upstream. */
export const mockGatewayConfig = `
model_list:
  - model_name: mock-small
    litellm_params:
      model: mock/mock-small
    model_info:
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002
  - model_name: mock-large
    litellm_params:
      model: mock/mock-large
    model_info:
      input_cost_per_token: 0.00001
      output_cost_per_token: 0.00002
general_settings:
  proxy_batch_write_at: 1
`;
