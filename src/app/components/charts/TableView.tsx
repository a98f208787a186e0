import { memo } from 'react';
import { formatNumber } from '../../format';
import type { TableEvent } from '../../state/runs';
import { describeTable } from './describe';
import { PlainTable, TableFigure } from './figure';

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
      <PlainTable table={event} format={formatNumber} />
    </TableFigure>
  );
});
