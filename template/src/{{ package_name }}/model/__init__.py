"""The model: input encoding, the torch module, the loss, inference and safetensors weights."""
