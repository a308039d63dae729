/**
 * Checkpoint input and output: safetensors files (our own reader and writer over FFM-mapped memory),
 * Hugging Face checkpoint folders with their config.json, LoRA adapters in the PEFT layout and
 * training-state checkpoints. Depends on cce-core for DType and Tensor.
 */
package org.cce4j.checkpoints;
