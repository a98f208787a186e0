import { memo } from 'react';
import { formatNumber } from '../../format';
import type { TableEvent } from '../../state/runs';

export const TableView = memo(function TableView({
  title,
  event,
}: {
  title: string;
  event: TableEvent;
}) {
  return (
    <figure className="chart table-figure" data-testid={`table-${title}`}>
      <figcaption>
        <strong>{title}</strong>
      </figcaption>
      <div className="table-scroll">
        <table>
          <thead>
            <tr>
              {event.columns.map((c) => (
                <th key={c} scope="col">
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {event.rows.map((row, i) => (
              <tr key={i}>
                {row.map((cell, j) => (
                  <td key={j} className={typeof cell === 'number' ? 'num' : undefined}>
                    {typeof cell === 'number' ? formatNumber(cell) : cell}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
});
