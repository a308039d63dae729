package org.cce4j.tokenizer.text;

import java.util.Arrays;

/** A growable list of ints: token ids and offsets are collected without boxing. */
public final class IntList {
    private int[] data;
    private int size;

    public IntList() {
        this(16);
    }

    public IntList(int capacity) {
        data = new int[Math.max(capacity, 4)];
    }

    public void add(int v) {
        if (size == data.length) data = Arrays.copyOf(data, data.length * 2);
        data[size++] = v;
    }

    public void addAll(int[] values) {
        addAll(values, 0, values.length);
    }

    public void addAll(int[] values, int from, int to) {
        int n = to - from;
        if (size + n > data.length) data = Arrays.copyOf(data, Math.max(data.length * 2, size + n));
        System.arraycopy(values, from, data, size, n);
        size += n;
    }

    public int get(int i) {
        return data[i];
    }

    public void set(int i, int v) {
        data[i] = v;
    }

    public int size() {
        return size;
    }

    public void clear() {
        size = 0;
    }

    public int[] toArray() {
        return Arrays.copyOf(data, size);
    }
}
