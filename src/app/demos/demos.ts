// Ready demos for a class: each a configuration (a shareable link's hash, with `_hide` keys for
// the controls a class need not touch), a paragraph saying what to watch, and the method's
// formula in TeX. Each finishes in under two minutes on a 2-core laptop CPU (timings in
// docs/ARCHITECTURE.md, "Demos and presenter mode").

export interface Demo {
  id: string;
  title: string;
  /** What the demo shows and what to try. */
  text: string;
  /** The loss or rule at the heart of the method, in TeX. */
  formula: string;
  /** The URL hash of its configuration. */
  hash: string;
}

const hide = (...fields: string[]) => fields.map((f) => `${f}_hide=true`).join('&');
const FIXED = hide('teacher', 'dataset', 'backend', 'seed');

export const DEMOS: readonly Demo[] = [
  {
    id: 'kd-temperature',
    title: 'Knowledge distillation with temperature',
    text:
      'A student half the teacher’s width learns from the teacher’s outputs softened by a ' +
      'temperature T: the higher T, the more the teacher says about which wrong digits look ' +
      'alike (“dark knowledge”). Run it at T = 4, then at T = 1, and compare the two runs.',
    formula:
      '\\mathcal{L} = \\alpha\\,T^2\\,\\mathrm{KL}\\big(\\sigma(z_t/T)\\,\\|\\,\\sigma(z_s/T)\\big)' +
      ' + (1-\\alpha)\\,\\mathrm{CE}\\big(y,\\ \\sigma(z_s)\\big)',
    hash: `teacher=lenet5-mnist&dataset=mnist&method=kd&student=half&steps=1000&testExamples=2000&p.temperature=4&${FIXED}`,
  },
  {
    id: 'cross-distillation-one-shot',
    title: 'Why cross distillation: one image per class',
    text:
      'With K = 1 labelled image per class, a half-pruned student is fitted to the teacher layer ' +
      'by layer. The correction loss feeds the teacher’s hidden input to the student’s layer, the ' +
      'imitation loss the student’s to the teacher’s; μ mixes them. Watch the estimation error ' +
      'per layer, then run “Layer-wise distillation” with the same settings and compare both.',
    formula:
      '\\tilde{\\mathcal{L}} = \\mu\\,\\big\\|W^T h^T - W^S h^T\\big\\|_F^2' +
      ' + (1-\\mu)\\,\\big\\|W^T h^S - W^S h^S\\big\\|_F^2',
    hash: `teacher=lenet5-mnist&dataset=mnist&method=cross-distillation&student=copy&steps=600&testExamples=2000&p.shotsPerClass=1&${FIXED}`,
  },
  {
    id: 'dafl-dreams-digits',
    title: 'DAFL dreams digits',
    text:
      'No training image at all: a generator learns images the teacher is sure about, strongly ' +
      'active on, and spread over all ten classes, and the student learns from those. Watch the ' +
      'samples turn from noise into digits and the class histogram even out; real test images ' +
      'are touched only to measure the student.',
    formula:
      '\\mathcal{L}_G = \\mathcal{L}_{\\mathrm{oh}} + \\alpha\\,\\mathcal{L}_a + \\beta\\,\\mathcal{L}_{\\mathrm{ie}},' +
      '\\qquad \\mathcal{L}_{\\mathrm{ie}} = -H\\Big(\\tfrac{1}{n}\\textstyle\\sum_i \\sigma(y_T^i)\\Big)',
    hash: `teacher=lenet5-mnist&dataset=mnist&method=dafl&student=half&steps=80&testExamples=2000&p.evalEvery=20&${FIXED}`,
  },
  {
    id: 'adversarial-paths',
    title: 'Adversarial paths',
    text:
      'Decision units pick, for each input, which channels of each layer run. Attacked images ' +
      '(FGSM, PGD) take other paths through the network: on the UMAP map of the decisions they ' +
      'land apart from the clean ones, and a detector trained on the decisions spots them better ' +
      'than one trained on the outputs.',
    formula:
      'a = \\mathrm{onehot}\\Big(\\arg\\max_i\\,(\\log \\pi_i + g_i)\\Big),\\qquad' +
      ' \\nabla a \\approx \\nabla\\,\\mathrm{softmax}\\big((\\log \\pi + g)/\\tau\\big)',
    hash: `teacher=bnnet-mnist&dataset=mnist&method=dynamic-prune&student=copy&steps=200&testExamples=1000&p.fineTuneSteps=50&p.evalEvery=50&p.analysisExamples=200&${FIXED}`,
  },
  {
    id: 'deep-compression',
    title: 'Deep Compression in three stages',
    text:
      'Prune the smallest weights and retrain, share the survivors’ values through a small ' +
      'codebook per layer (k-means) and fine-tune the centroids, then Huffman-code the cluster ' +
      'indices and the gaps between non-zeros. The stage table reports the real bytes of the ' +
      'stream the run wrote and decoded again: watch accuracy dip after each cut and recover, ' +
      'and the size fall about twentyfold.',
    formula:
      '\\text{bits}_\\ell = a\\,\\big(\\lceil\\log_2 k\\rceil + b_{\\mathrm{idx}}\\big) + 32\\,k,' +
      '\\qquad \\frac{\\partial \\mathcal{L}}{\\partial c_j} = \\sum_{i:\\,I_i = j} \\frac{\\partial \\mathcal{L}}{\\partial W_i}',
    hash: `teacher=lenet5-mnist&dataset=mnist&method=deep-compression&student=copy&steps=1200&testExamples=2000&p.evalEvery=200&${FIXED}`,
  },
];
