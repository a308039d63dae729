/**
 * Llama and Gemma model definitions with explicit forward and backward passes over a Backend
 * (CPU or CUDA), the classifier through cce-core's Cut Cross-Entropy, and LoRA.
 */
package org.cce4j.transformer;
