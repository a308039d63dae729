/**
 * Small programs that use the modules as libraries: benchmarks and demos.
 */
package org.cce4j.examples;
