import { describe, expect, it } from 'vitest';
import { classIndices, imagesByClass } from './labelled-folders';

describe('labelled image folders', () => {
  it('groups images by their class folder and leaves other files out', () => {
    const byClass = imagesByClass([
      'digits/0/a.png',
      'digits/0/b.JPG',
      'digits/1/c.png',
      'digits/1/notes.txt',
      '__MACOSX/digits/1/._c.png',
      'README.md',
    ]);
    expect([...byClass]).toEqual([
      ['0', ['digits/0/a.png', 'digits/0/b.JPG']],
      ['1', ['digits/1/c.png']],
    ]);
  });

  it('refuses images without class folders, or all in one folder', () => {
    expect(() => imagesByClass(['a.png', 'b.png'])).toThrow('No images in class folders');
    expect(() => imagesByClass(['cats/a.png', 'cats/b.png'])).toThrow(
      "All images are in one folder ('cats')",
    );
  });

  it('maps numeric folders to the outputs they name and other names in sorted order', () => {
    const numeric = classIndices(['10', '2', '0', ...'13456789'.split('')], 11);
    expect(numeric.get('10')).toBe(10);
    expect(numeric.get('2')).toBe(2);
    expect([...classIndices(['dog', 'cat'], 2)]).toEqual([
      ['cat', 0],
      ['dog', 1],
    ]);
  });

  it('says when the folders do not meet the outputs', () => {
    expect(() => classIndices(['0', '1', '12'], 10)).toThrow("the folder(s) '12' name no output");
    expect(() => classIndices(['cat', 'dog'], 10)).toThrow('2 class folders for a model with 10');
    expect(() => classIndices(['0', '01', '1'], 3)).toThrow('name the same output');
  });
});
