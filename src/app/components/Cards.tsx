/** Label–value cards: a run's results, an uploaded teacher's summary. */
export function Cards({ cards, testId }: { cards: [string, string][]; testId: string }) {
  return (
    <dl className="cards" data-testid={testId}>
      {cards.map(([k, v]) => (
        <div key={k} className="card">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
