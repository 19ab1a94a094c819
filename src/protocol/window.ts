// A view of a buffer's window, made once and handed out again while the same window of the same
// buffer is asked for. The read buffer and the reply buffer are objects reused request after
// request, and requests and replies of one shape (a steady load) ask for the same windows: they
// get the view made before, which shows the same bytes, instead of a new object each time.

const EMPTY = new Uint8Array(0);

export class Window {
  private parent: Uint8Array | undefined;
  private start = 0;
  private view: Uint8Array = EMPTY;

  /** Whether `of` would hand out the view made before for buf[start, end). */
  holds(buf: Uint8Array, start: number, end: number): boolean {
    return this.parent === buf && this.start === start && this.view.length === end - start;
  }

  /** buf[start, end) as a view. */
  of(buf: Uint8Array, start: number, end: number): Uint8Array {
    if (!this.holds(buf, start, end)) {
      this.parent = buf;
      this.start = start;
      this.view = buf.subarray(start, end);
    }
    return this.view;
  }
}
