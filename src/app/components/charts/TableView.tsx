import { memo } from 'react';
import { formatNumber } from '../../format';
import type { TableEvent } from '../../state/runs';
import { describeTable } from './describe';
import { PlainTable, TableFigure } from './figure';

/** Whole numbers (counts, bytes) exactly; others to four significant digits. */
const exactCounts = (v: number) => (Number.isInteger(v) ? String(v) : formatNumber(v));

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
      <PlainTable table={event} format={exactCounts} />
    </TableFigure>
  );
});
