import { memo, useMemo, useState } from 'react';
import { classLabels, type EmbeddingEvent, type RunRecord } from '../../state/runs';
import { EmbeddingChart } from './EmbeddingChart';
import { classCount } from './embedding';
import { GateHeatmap } from './GateHeatmap';

/** The embedding and, when its points carry gates, the heatmap of the point selected in it. */
export const EmbeddingView = memo(function EmbeddingView({
  title,
  event,
  config,
  classNames,
}: {
  title: string;
  event: EmbeddingEvent;
} & Pick<RunRecord, 'config' | 'classNames'>) {
  const [selected, setSelected] = useState(0);
  const classes = useMemo(
    () => classLabels({ config, classNames }, classCount(event)),
    [config, classNames, event],
  );
  // A later event with fewer points falls back to the first.
  const index = selected < event.labels.length ? selected : 0;
  return (
    <>
      <EmbeddingChart
        title={title}
        event={event}
        classes={classes}
        selected={event.gates ? index : -1}
        onSelect={event.gates && setSelected}
      />
      {event.gates && (
        <GateHeatmap
          title={title}
          event={event}
          gates={event.gates}
          index={index}
          classes={classes}
        />
      )}
    </>
  );
});
