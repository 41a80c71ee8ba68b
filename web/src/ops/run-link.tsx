/** A link to a workflow run in the Temporal Web UI, when the API knows where that is. */
export function RunLink({ href }: { readonly href: string | undefined }) {
  if (!href) return <span class="muted small">no Web UI</span>;
  return (
    <a href={href} target="_blank" rel="noreferrer" class="run-link" data-testid="run-link">
      open in Temporal ↗
    </a>
  );
}
