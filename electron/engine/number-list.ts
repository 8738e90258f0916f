// A list of numbers that grows, in a Float64Array: the candidate searches collect millions of pair
// ids, which as JavaScript arrays of arrays would cost far more memory and garbage collection.

export class NumberList {
  private values = new Float64Array(1024);
  length = 0;

  push(a: number, b: number): void {
    if (this.length + 2 > this.values.length) {
      const more = new Float64Array(this.values.length * 2);
      more.set(this.values);
      this.values = more;
    }
    this.values[this.length++] = a;
    this.values[this.length++] = b;
  }

  at(i: number): number {
    return this.values[i];
  }

  /** The numbers pushed so far, in an array of their own (transferable to another thread). */
  toArray(): Float64Array {
    return this.values.slice(0, this.length);
  }
}
