/** A page of the app: mounted into <main>, destroyed on navigation. */
export interface View {
  /** The document title (no patient data beyond the opaque id). */
  readonly title: string;
  mount(main: HTMLElement): void;
  destroy(): void;
}
