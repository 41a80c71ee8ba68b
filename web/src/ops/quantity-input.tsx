import type { TargetedSubmitEvent } from 'preact';

interface QuantityInputProps {
  readonly label: string;
  readonly testId: string;
  readonly defaultValue?: number;
  readonly placeholder?: string;
  readonly required?: boolean;
}

/** The quantity field of an ops form: a positive whole number named `quantity`. */
export function QuantityInput({ label, testId, defaultValue, placeholder, required }: QuantityInputProps) {
  return (
    <input
      name="quantity"
      type="number"
      min={1}
      required={required}
      defaultValue={defaultValue === undefined ? undefined : String(defaultValue)}
      placeholder={placeholder}
      aria-label={label}
      data-testid={testId}
    />
  );
}

/** A form's submit handler that reads its `quantity` field and hands it on, with the form. */
export function onQuantity(act: (quantity: number, form: HTMLFormElement) => void) {
  return (e: TargetedSubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    act(Number(new FormData(form).get('quantity')), form);
  };
}
