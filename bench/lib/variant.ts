/** One add-to-cart attempt; resolves true when a unit was granted. `key` is unique within the SKU. */
export type Attempt = (key: string) => Promise<boolean>;

/** One SKU put on sale by one variant. */
export interface SkuUnderTest {
  readonly sku: string;
  /** Adds one unit to a cart; `key` makes the attempt's ids unique within the SKU. */
  readonly attempt: Attempt;
  /**
   * Units the store granted, counted from the database after a race. Throws when the store's own checks fail,
   * or, when every attempt resolved (`clean`), when the database disagrees with what the clients were told.
   */
  granted(told: number, clean: boolean): Promise<number>;
  /** Removes what the SKU left behind that would slow the next cells down. */
  dispose(): Promise<void>;
}

/** A way of selling stock that the bench measures. */
export interface Variant {
  readonly name: string;
  /** False when it sells no stock (raw-insert), so a sell-out race would mean nothing: the bench runs none. */
  readonly sellsStock: boolean;
  /** Puts a fresh SKU with `units` units on sale. */
  open(sku: string, units: number): Promise<SkuUnderTest>;
  /**
   * Attempts on a SKU that `open` put on sale elsewhere (in the bench's own process), for a client process:
   * with this process's own connections and caches, as another API process would have.
   */
  attach(sku: string, units: number): Attempt;
}
