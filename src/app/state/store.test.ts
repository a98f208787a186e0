import { describe, expect, it, vi } from 'vitest';
import type { FromWorker, ImportedTeacher, ToWorker } from '../../worker/protocol';
import { uploadFiles } from '../files';
import { memoryRunDb, type RunDb } from './db';
import { CATALOG, SWEEP_CATALOG } from './fixtures';
import { createWorkbenchStore } from './store';

let stores = 0;

/** A store on a fake worker: `sent` records what the page asked, `reply` plays the worker. */
async function setup(db: RunDb = memoryRunDb(), hash = '', catalog = CATALOG) {
  const sent: ToWorker[] = [];
  let handlers!: { onMessage(m: FromWorker): void; onCrash(reason: string): void };
  let ids = 0;
  const prefix = `s${++stores}`;
  const store = createWorkbenchStore({
    db,
    hash,
    connect: (h) => {
      handlers = h;
      return { send: (m) => sent.push(m) };
    },
    newId: () => `${prefix}-run-${++ids}`,
  });
  await vi.waitFor(() => expect(store.getState().loaded).toBe(true));
  handlers.onMessage({ kind: 'catalog', id: 'c1', catalog });
  return {
    store,
    sent,
    db,
    reply: (m: FromWorker) => handlers.onMessage(m),
    crash: (r: string) => handlers.onCrash(r),
  };
}

describe('workbench store', () => {
  it('configures from the catalog and the hash, and resets params on a method switch', async () => {
    const { store } = await setup(undefined, '#seed=5&p.temperature=9');
    expect(store.getState().config).toMatchObject({
      teacher: 'lenet5-mnist',
      seed: 5,
      params: { temperature: 9 },
    });
    store.getState().setConfig({ method: 'prune' });
    expect(store.getState().config).toMatchObject({
      method: 'prune',
      student: 'copy',
      params: { schedule: 'cubic' },
    });
    store.getState().setConfig({ teacher: 'bnnet-fashion' });
    expect(store.getState().config?.dataset).toBe('fashion');
  });

  it('refuses to start an invalid configuration', async () => {
    const { store, sent } = await setup();
    store.getState().setParam('temperature', 0);
    expect(store.getState().startRun()).toBeUndefined();
    expect(sent).toHaveLength(0);
  });

  it('runs, streams, finishes and keeps the run and its student', async () => {
    const { store, sent, db, reply } = await setup();
    const id = store.getState().startRun()!;
    expect(sent).toEqual([{ kind: 'start', id, config: store.getState().config }]);
    reply({ kind: 'started', id });
    reply({ kind: 'events', id, events: [{ kind: 'scalar', key: 'loss', step: 25, value: 1.5 }] });
    expect(store.getState().runs[id].scalars.loss).toHaveLength(1);
    const result = { status: 'done', student: { accuracy: 0.97 } } as never;
    const student = { modelJson: '{}', shardName: 'w.bin', weightData: new ArrayBuffer(8) };
    reply({ kind: 'finished', id, result, student });
    expect(store.getState().runs[id]).toMatchObject({ status: 'done', hasStudent: true });
    await vi.waitFor(async () => expect(await db.student(id)).toEqual(student));
    expect((await db.all())[0]).toMatchObject({ id, status: 'done' });
  });

  it('leaves students the worker stored to it, and deletes one of a run deleted meanwhile', async () => {
    const db = memoryRunDb();
    const putStudent = vi.spyOn(db, 'putStudent');
    const { store, reply } = await setup(db);
    const id = store.getState().startRun()!;
    reply({ kind: 'started', id });
    reply({ kind: 'student-checkpoint', id, step: 50 });
    reply({ kind: 'finished', id, result: { status: 'done' } as never });
    expect(store.getState().runs[id]).toMatchObject({ status: 'done', hasStudent: true });
    expect(putStudent).not.toHaveBeenCalled();

    const student = { modelJson: '{}', shardName: 'w.bin', weightData: new ArrayBuffer(8) };
    await db.putStudent('gone', student); // as the worker would, for a run deleted meanwhile
    reply({ kind: 'finished', id: 'gone', result: { status: 'done' } as never });
    await vi.waitFor(async () => expect(await db.student('gone')).toBeUndefined());
  });

  it('resumes an interrupted run from its checkpoint, sending the stored student', async () => {
    const db = memoryRunDb();
    const first = await setup(db);
    const id = first.store.getState().startRun()!;
    first.reply({ kind: 'started', id });
    first.reply({
      kind: 'events',
      id,
      events: [
        { kind: 'scalar', key: 'loss', step: 25, value: 1.5 },
        { kind: 'scalar', key: 'loss', step: 75, value: 1 },
      ],
    });
    const student = { modelJson: '{}', shardName: 'w.bin', weightData: new ArrayBuffer(8) };
    first.reply({ kind: 'student-checkpoint', id, step: 50, student });
    await vi.waitFor(async () => expect(await db.student(id)).toEqual(student));
    await vi.waitFor(async () => expect((await db.all())[0].scalars.loss).toHaveLength(2));

    // A reload: the run was interrupted; it goes on from step 50.
    const { store, sent } = await setup(db);
    expect(store.getState().runs[id]).toMatchObject({ status: 'interrupted', checkpointStep: 50 });
    store.getState().resumeFromCheckpoint(id);
    expect(store.getState().runs[id]).toMatchObject({ status: 'queued', resumedFrom: 50 });
    expect(store.getState().runs[id].scalars.loss.map((p) => p.step)).toEqual([25]);
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]).toMatchObject({ kind: 'start', id, checkpoint: { step: 50, student } });
    expect((await db.all())[0]).toMatchObject({ status: 'queued', resumedFrom: 50 });

    // A run of a method that cannot resume is not sent.
    const pruned = { ...store.getState().runs[id], status: 'failed' as const };
    store.setState({
      runs: { [id]: { ...pruned, config: { ...pruned.config, method: 'prune' } } },
    });
    store.getState().resumeFromCheckpoint(id);
    expect(sent.filter((m) => m.kind === 'start')).toHaveLength(1);
  });

  it('sends live parameter changes of a run and shows a refusal', async () => {
    const { store, sent, reply } = await setup();
    const id = store.getState().startRun()!;
    reply({ kind: 'started', id });
    sent.length = 0;
    expect(store.getState().setRunParams(id, { batchSize: 32 })).toBe(
      "'batchSize' cannot change while a 'kd' run goes on (only temperature can)",
    );
    expect(store.getState().setRunParams(id, { temperature: 0 })).toMatch(/between 1 and 50/);
    expect(sent).toHaveLength(0);
    expect(store.getState().setRunParams(id, { temperature: 2 })).toBeUndefined();
    expect(sent).toEqual([{ kind: 'set-params', id, params: { temperature: 2 } }]);
    reply({ kind: 'params-refused', id, message: 'the run is not going' });
    expect(store.getState().notice?.text).toMatch(/^Parameters not changed: the run is not going/);
  });

  it('measures latency of stored students and their teacher once, keeping each backend', async () => {
    const { store, sent, db, reply } = await setup();
    const student = { modelJson: '{}', shardName: 'w.bin', weightData: new ArrayBuffer(8) };
    const finish = () => {
      const id = store.getState().startRun()!;
      reply({ kind: 'finished', id, result: { status: 'done' } as never, student });
      return id;
    };
    const [a, b] = [finish(), finish()];
    await vi.waitFor(async () => expect(await db.student(b)).toEqual(student));
    const measure = async (backend: 'wasm' | 'webgpu', ms: number) => {
      sent.length = 0;
      store.getState().setConfig({ backend });
      const done = store.getState().measureLatency([a, b]);
      await vi.waitFor(() => expect(sent).toHaveLength(1));
      const task = sent[0] as Extract<ToWorker, { kind: 'task' }>;
      expect(task.task).toEqual({
        kind: 'latency',
        students: { [a]: student, [b]: student },
        teachers: { 'lenet5-mnist': 'lenet5-mnist' },
        backend,
      });
      const timed = { backend, batch1Ms: ms, perImageMs: ms / 10 };
      const result = { students: { [a]: timed, [b]: timed }, teachers: { 'lenet5-mnist': timed } };
      reply({ kind: 'task-done', id: task.id, result });
      await done;
    };
    await measure('wasm', 2);
    await measure('webgpu', 1);
    const run = store.getState().runs[a];
    expect(run.latency).toMatchObject({
      wasm: { batch1Ms: 2, perImageMs: 0.2 },
      webgpu: { batch1Ms: 1, perImageMs: 0.1 },
    });
    expect(run.teacherLatency?.wasm?.batch1Ms).toBe(2);
    await vi.waitFor(async () =>
      expect((await db.all()).find((r) => r.id === a)?.latency?.webgpu?.batch1Ms).toBe(1),
    );
  });

  it('marks runs cut off by a reload as interrupted', async () => {
    const first = await setup();
    const id = first.store.getState().startRun()!;
    first.reply({ kind: 'started', id });
    await vi.waitFor(async () => expect((await first.db.all())[0]?.status).toBe('running'));
    const second = await setup(first.db);
    expect(second.store.getState().runs[id].status).toBe('interrupted');
    expect(second.store.getState().selectedId).toBe(id);
  });

  it('fails the running run after a crash and sends the queued ones to the fresh worker', async () => {
    const { store, sent, crash, reply } = await setup();
    const a = store.getState().startRun()!;
    const b = store.getState().startRun()!;
    reply({ kind: 'started', id: a });
    sent.length = 0;
    crash('out of memory');
    expect(store.getState().runs[a]).toMatchObject({
      status: 'failed',
      error: { name: 'WorkerCrash' },
    });
    expect(sent).toEqual([{ kind: 'start', id: b, config: store.getState().runs[b].config }]);
  });

  it('exports and imports runs', async () => {
    const { store, reply } = await setup();
    const id = store.getState().startRun()!;
    reply({ kind: 'failed', id, error: { name: 'DivergenceError', message: 'NaN' } });
    const text = await store.getState().exportRuns();
    await store.getState().remove(id);
    expect(store.getState().order).toEqual([]);
    expect(await store.getState().importRuns(text)).toBe(1);
    expect(store.getState().runs[id]).toMatchObject({
      status: 'failed',
      error: { message: 'NaN' },
    });
  });

  it('queues a sweep as tagged ordinary runs, and rebuilds it from the stored runs', async () => {
    const first = await setup(undefined, '#steps=5&testExamples=200', SWEEP_CATALOG);
    const { store, sent, reply } = first;
    store.getState().setPanel('sweep');
    store.getState().setSweepDraft({ shots: '1, 2', seeds: '1-2', gridParam: 'temperature' });
    expect(store.getState().startSweep()).toBeUndefined(); // no grid values yet
    store.getState().setSweepDraft({ gridValues: '2, 4' });
    const id = store.getState().startSweep()!;
    expect(sent.filter((m) => m.kind === 'start')).toHaveLength(8);
    const runs = Object.values(store.getState().runs);
    expect(runs.every((r) => r.sweep?.id === id && r.config.steps === 5)).toBe(true);
    expect(store.getState().selectedSweepId).toBe(id);
    const [a, b] = sent.map((m) => m.id);
    expect(store.getState().runs[a].sweep).toMatchObject({ index: 0, cell: { seed: 1 } });
    reply({ kind: 'started', id: a });
    const result = { status: 'done', teacher: { accuracy: 0.99 }, student: { accuracy: 0.9 } };
    const student = { modelJson: '{}', shardName: 'w.bin', weightData: new ArrayBuffer(8) };
    reply({ kind: 'finished', id: a, result: result as never, student });

    sent.length = 0;
    store.getState().stopSweep(id);
    // The queued ones first, so none of them starts when the running one stops.
    expect(sent.map((m) => m.id)).toEqual(runs.slice(1).map((r) => r.id));
    for (const m of sent) reply({ kind: 'cancelled', id: m.id });
    await vi.waitFor(async () =>
      expect((await first.db.all()).filter((r) => r.status === 'stopped')).toHaveLength(7),
    );

    const second = await setup(first.db, '', SWEEP_CATALOG);
    expect(second.store.getState().selectedSweepId).toBe(id);
    expect(second.store.getState().runs[b].sweep?.cell).toEqual(
      store.getState().runs[b].sweep?.cell,
    );
    second.store.getState().rerunSweep(id);
    expect(second.sent.filter((m) => m.kind === 'start')).toHaveLength(7);
    const again = Object.values(second.store.getState().runs);
    expect(again).toHaveLength(8);
    expect(again.filter((r) => r.status === 'queued').map((r) => r.sweep!.index)).toHaveLength(7);
    await second.store.getState().removeSweep(id);
    expect(second.store.getState().order).toEqual([]);
    expect(second.store.getState().selectedSweepId).toBeUndefined();
  });

  it('loads a sweep file into the form, or as written when the form cannot show it', async () => {
    const { store } = await setup(undefined, '', SWEEP_CATALOG);
    const file = {
      teacher: 'lenet5-mnist',
      dataset: 'mnist',
      methods: ['layerwise', 'cross-distillation'],
      shotsPerClass: [1, 5],
      seeds: [1, 2, 3],
      grid: { mu: [0, 0.5, 1] },
      steps: 20,
    };
    expect(store.getState().loadSweep(JSON.stringify(file))).toBeUndefined();
    expect(store.getState()).toMatchObject({
      panel: 'sweep',
      sweepFile: undefined,
      sweepDraft: { methods: ['layerwise', 'cross-distillation'], gridParam: 'mu' },
      config: { steps: 20 },
    });
    const odd = { ...file, methodParams: { layerwise: { targetSparsity: 0.3 } } };
    expect(store.getState().loadSweep(JSON.stringify(odd))).toBeUndefined();
    expect(store.getState().sweepFile).toEqual(odd);
    expect(store.getState().loadSweep('{')).toMatch(/^Not a sweep file/);
  });

  it('imports a teacher through the worker, keeps it, lists it and sends it with its runs', async () => {
    const { store, sent, db, reply } = await setup();
    const importing = store.getState().importTeacher(uploadFiles([new File(['{}'], 'model.json')]));
    const task = sent.find((m) => m.kind === 'task')!;
    expect(task).toMatchObject({ task: { kind: 'import-teacher', dataset: 'mnist' } });
    const files = { modelJson: '{}', shardName: 'w.bin', weightData: new ArrayBuffer(8) };
    const own = { mean: 0, std: 1 };
    const check = { dataset: 'mnist' as const, preprocessing: own, examples: 2000, accuracy: 0.1 };
    const stats = { name: 'raw', nodes: [], params: 10, flops: 20, bytes: 40 };
    const imported: ImportedTeacher = {
      name: 'raw',
      format: 'tfjs-layers',
      sourceFiles: ['model.json'],
      stats,
      inputShape: [32, 32, 1],
      classes: 10,
      files,
      check,
    };
    reply({ kind: 'task-done', id: task.id, result: imported });
    const id = (await importing)!;
    expect(id).toMatch(/^upload:/);
    expect(store.getState()).toMatchObject({ selectedTeacherId: id, config: { teacher: id } });
    expect(store.getState().catalog?.teachers.at(-1)).toMatchObject({ id, uploaded: true });
    expect(await db.teacherFiles(id)).toEqual(files);

    // Detection starts from the file's own preprocessing; its choice is what runs use.
    const detecting = store.getState().checkTeacher(id, 'mnist', true);
    await vi.waitFor(() => expect(sent.filter((m) => m.kind === 'task')).toHaveLength(2));
    const detect = sent.at(-1)!;
    expect(detect).toMatchObject({ task: { kind: 'check-teacher', detect: true } });
    const raw = { ...own, range: 'raw' as const };
    reply({ kind: 'task-done', id: detect.id, result: { ...check, preprocessing: raw } });
    await detecting;
    expect((await db.teachers())[0].preprocessing).toEqual(raw);

    const run = store.getState().startRun()!;
    await vi.waitFor(() => expect(sent.at(-1)).toMatchObject({ kind: 'start', id: run }));
    expect(sent.at(-1)).toMatchObject({ teacher: { files, preprocessing: raw } });

    // A failed import says why and what to do; the teacher already kept stays.
    const failing = store.getState().importTeacher(uploadFiles([new File(['x'], 'notes.txt')]));
    const last = sent.at(-1)!;
    const error = { name: 'InvalidModelError', message: 'None is a model', hint: 'Upload one' };
    reply({ kind: 'task-failed', id: last.id, error });
    expect(await failing).toBeUndefined();
    expect(store.getState().notice).toMatchObject({ kind: 'error', hint: 'Upload one' });
    expect(Object.keys(store.getState().teachers)).toEqual([id]);
  });

  it('keeps uploaded images across reloads and sends them with runs and sweeps', async () => {
    const first = await setup(undefined, '', SWEEP_CATALOG);
    const files = uploadFiles([new File(['png'], 'a.png'), new File(['png'], 'b.png')]);
    const importing = first.store.getState().importImages(files);
    const inspect = first.sent.find((m) => m.kind === 'task')!;
    expect(inspect).toMatchObject({ task: { kind: 'inspect-images' } });
    const summary = { name: 'digits', classNames: ['0', '1'], counts: [1, 1] };
    first.reply({ kind: 'task-done', id: inspect.id, result: summary });
    const imagesId = (await importing)!;
    expect(first.store.getState().config?.shots).toBe(imagesId);
    expect(await first.db.imageFiles(imagesId)).toEqual(files);

    // A teacher imported now is first checked on them.
    void first.store.getState().importTeacher(uploadFiles([new File(['{}'], 'model.json')]));
    await vi.waitFor(() =>
      expect(first.sent.at(-1)).toMatchObject({
        task: { kind: 'import-teacher', images: { name: 'digits', files } },
      }),
    );

    // Another visit: the images are listed again and their files go with runs and sweeps.
    const second = await setup(first.db, '', SWEEP_CATALOG);
    const { store, sent } = second;
    await vi.waitFor(() => expect(store.getState().imageSets[imagesId]).toMatchObject(summary));
    store.getState().setConfig({ shots: imagesId, shotsAsTest: true });
    const run = store.getState().startRun()!;
    await vi.waitFor(() => expect(sent.at(-1)).toMatchObject({ kind: 'start', id: run }));
    expect(sent.at(-1)).toMatchObject({
      config: { shots: imagesId, shotsAsTest: true },
      shots: files,
    });
    store.getState().setPanel('sweep');
    store.getState().setSweepDraft({ methods: ['kd'], shots: '1', seeds: '1-2' });
    expect(store.getState().startSweep()).toBeDefined();
    await vi.waitFor(() => expect(sent.filter((m) => m.kind === 'start')).toHaveLength(3));
    for (const m of sent.slice(-2)) {
      expect(m).toMatchObject({ config: { shots: imagesId, shotsAsTest: true }, shots: files });
    }
    expect(store.getState().runs[sent.at(-1)!.id].sweep?.config.shots).toBe(imagesId);

    // Deleted: gone from the form, the database, and a sweep that names them is refused.
    await store.getState().removeImageSet(imagesId);
    expect(store.getState().config?.shots).toBeUndefined();
    expect(await second.db.imageFiles(imagesId)).toBeUndefined();
    expect((await setup(second.db)).store.getState().imageSets).toEqual({});
    const file = {
      teacher: 'lenet5-mnist',
      dataset: 'mnist',
      methods: ['kd'],
      shotsPerClass: [1],
      seeds: [1],
      shots: imagesId,
    };
    expect(store.getState().loadSweep(JSON.stringify(file))).toBeUndefined();
    expect(store.getState().config?.shots).toBe(imagesId);
    // Refused, as the form's plan line says.
    expect(store.getState().startSweep()).toBeUndefined();
  });
});
