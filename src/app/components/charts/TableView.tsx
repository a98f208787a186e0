import { memo } from 'react';
import { formatNumber } from '../../format';
import type { TableEvent } from '../../state/runs';
import { describeTable } from './describe';
import { TableFigure } from './figure';

export const TableView = memo(function TableView({
  title,
  event,
}: {
  title: string;
  event: TableEvent;
}) {
  const text = describeTable(title);
  return (
    <TableFigure title={text.title} note={text.caption} data-testid={`table-${title}`}>
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
    </TableFigure>
  );
});
