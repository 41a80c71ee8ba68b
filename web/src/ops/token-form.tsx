interface Props {
  readonly refused: boolean;
  readonly onToken: (token: string) => void;
}

/** Asks once per browser session for the ops bearer token (`npm start` prints it). */
export function TokenForm({ refused, onToken }: Props) {
  return (
    <main class="gate">
      <form
        class="panel"
        data-testid="token-form"
        onSubmit={(e) => {
          e.preventDefault();
          const token = String(new FormData(e.currentTarget).get('token') ?? '').trim();
          if (token) onToken(token);
        }}
      >
        <h1>holdfast ops console</h1>
        <p class="muted">
          Paste the ops token: <code>npm start</code> prints it, or it is <code>HOLDFAST_OPS_TOKEN</code>. It is kept
          for this browser tab only.
        </p>
        {refused && (
          <p class="notice error" data-testid="token-refused">
            The API refused that token.
          </p>
        )}
        <input
          name="token"
          type="password"
          autocomplete="off"
          placeholder="ops token"
          aria-label="Ops token"
          data-testid="ops-token"
          required
        />
        <button type="submit" class="primary" data-testid="ops-sign-in">
          Open console
        </button>
      </form>
    </main>
  );
}
