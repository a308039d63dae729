/**
 * Hugging Face tokenizer.json in pure Java (byte-level and SentencePiece-style BPE), chat templates
 * and a byte-level BPE trainer. Depends on nothing of ours, so it can be used alone.
 */
package org.cce4j.tokenizer;
