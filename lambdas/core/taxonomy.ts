/**
 * The versioned taxonomy: categories (with parent/child relations, synonyms, keywords and the model labels that count
 * as evidence) and policy classes. Validated when loaded, at synth time (CDK) and at Lambda start alike.
 */
import { z } from 'zod';
import taxonomyFile from '../../config/taxonomy.json';
import { normalizeText, containsPhrase } from './text';

const categorySchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/, 'ids are dotted lower-case words'),
  name: z.string().min(1),
  parent: z.string().optional(),
  synonyms: z.array(z.string().min(1)),
  keywords: z.array(z.string().min(1)),
  /** Candidate labels sent to a zero-shot (CLIP-style) endpoint; each maps back to this category. */
  clipPrompts: z.array(z.string().min(1)),
  /** Labels of a detector or classifier (COCO classes here) that count as evidence for this category. */
  detectorLabels: z.array(z.string().min(1)),
});

const policyClassSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().min(1),
    /** Labels of the policy model (compared case-insensitively) that belong to this class. */
    modelLabels: z.array(z.string().min(1)).min(1),
    /** A summed score at or above this sends the asset to review with POLICY_SENSITIVE. */
    reviewThreshold: z.number().gt(0).lte(1),
    /** The borderline band [borderlineThreshold, reviewThreshold) also goes to review, as POLICY_BORDERLINE. */
    borderlineThreshold: z.number().gt(0).lte(1),
  })
  .refine((policyClass) => policyClass.borderlineThreshold <= policyClass.reviewThreshold, {
    message: 'borderlineThreshold must not exceed reviewThreshold',
  });

export const taxonomySchema = z
  .object({
    version: z.string().min(1),
    description: z.string().optional(),
    categories: z.array(categorySchema).min(1),
    policyClasses: z.array(policyClassSchema).min(1),
  })
  .superRefine((taxonomy, ctx) => {
    const ids = new Set<string>();
    for (const category of taxonomy.categories) {
      if (ids.has(category.id)) ctx.addIssue({ code: 'custom', message: `duplicate category id "${category.id}"` });
      ids.add(category.id);
    }
    for (const category of taxonomy.categories) {
      if (category.parent !== undefined && !ids.has(category.parent)) {
        ctx.addIssue({ code: 'custom', message: `category "${category.id}" has unknown parent "${category.parent}"` });
      }
    }
    // A declared category must resolve to one category: ids, names and synonyms may not be shared.
    const names = new Map<string, string>();
    for (const category of taxonomy.categories) {
      for (const name of new Set([category.id, category.name, ...category.synonyms].map(normalizeText))) {
        const owner = names.get(name);
        if (owner !== undefined) ctx.addIssue({ code: 'custom', message: `name or synonym "${name}" is used by both "${owner}" and "${category.id}"` });
        names.set(name, category.id);
      }
    }
    const parents = new Map(taxonomy.categories.map((category) => [category.id, category.parent]));
    for (const category of taxonomy.categories) {
      const seen = new Set<string>([category.id]);
      for (let parent = category.parent; parent !== undefined; parent = parents.get(parent)) {
        if (seen.has(parent)) {
          ctx.addIssue({ code: 'custom', message: `category "${category.id}" is in a parent cycle` });
          break;
        }
        seen.add(parent);
      }
    }
    const prompts = new Map<string, string>();
    for (const category of taxonomy.categories) {
      for (const prompt of category.clipPrompts) {
        const owner = prompts.get(prompt);
        if (owner !== undefined) {
          ctx.addIssue({ code: 'custom', message: `prompt "${prompt}" is used by both "${owner}" and "${category.id}"` });
        }
        prompts.set(prompt, category.id);
      }
    }
  });

export type TaxonomyDocument = z.infer<typeof taxonomySchema>;
export type Category = z.infer<typeof categorySchema>;
export type PolicyClass = z.infer<typeof policyClassSchema>;

/** A validated taxonomy with the lookups every stage needs. */
export class Taxonomy {
  readonly version: string;
  readonly categories: readonly Category[];
  readonly policyClasses: readonly PolicyClass[];
  private readonly byId = new Map<string, Category>();
  private readonly byDeclaredName = new Map<string, Category>();
  private readonly byPrompt = new Map<string, Category>();

  constructor(document: TaxonomyDocument) {
    this.version = document.version;
    this.categories = document.categories;
    this.policyClasses = document.policyClasses;
    for (const category of document.categories) {
      this.byId.set(category.id, category);
      for (const name of [category.id, category.name, ...category.synonyms]) {
        this.byDeclaredName.set(normalizeText(name), category);
      }
      for (const prompt of category.clipPrompts) this.byPrompt.set(prompt, category);
    }
  }

  category(id: string): Category | undefined {
    return this.byId.get(id);
  }

  /** Resolves a merchant's declared category (id, name or synonym; case, spacing and Unicode form ignored). */
  resolveDeclaredCategory(declared: string): Category | undefined {
    return this.byDeclaredName.get(normalizeText(declared));
  }

  /** The category itself followed by its ancestors, nearest first. */
  lineage(id: string): string[] {
    const chain: string[] = [];
    let current = this.byId.get(id);
    while (current !== undefined && !chain.includes(current.id)) {
      chain.push(current.id);
      current = current.parent === undefined ? undefined : this.byId.get(current.parent);
    }
    return chain;
  }

  /** True when `candidate` is `declared` or one of its descendants: a more specific prediction is not a mismatch. */
  isSameOrDescendant(candidate: string, declared: string): boolean {
    return this.lineage(candidate).includes(declared);
  }

  /** True when one category lies on the other's lineage (either direction). */
  areRelated(a: string, b: string): boolean {
    return this.isSameOrDescendant(a, b) || this.isSameOrDescendant(b, a);
  }

  /** The zero-shot candidate labels, in taxonomy order. */
  candidateLabels(): string[] {
    return this.categories.flatMap((category) => category.clipPrompts);
  }

  categoryForPrompt(prompt: string): Category | undefined {
    return this.byPrompt.get(prompt);
  }

  /** Categories whose detector/classifier labels include `label`. */
  categoriesForDetectorLabel(label: string): Category[] {
    const wanted = label.toLowerCase();
    return this.categories.filter((category) => category.detectorLabels.some((l) => l.toLowerCase() === wanted));
  }

  /** Categories whose keywords or synonyms occur in the text, with the words that matched. */
  categoriesMentionedIn(text: string): Array<{ categoryId: string; matched: string[] }> {
    const normalized = normalizeText(text);
    if (normalized === '') return [];
    const mentions: Array<{ categoryId: string; matched: string[] }> = [];
    for (const category of this.categories) {
      const matched = [...category.keywords, ...category.synonyms].filter((phrase) => containsPhrase(normalized, phrase));
      if (matched.length > 0) mentions.push({ categoryId: category.id, matched: [...new Set(matched)] });
    }
    return mentions;
  }

  /** Policy classes with their summed scores from a policy model's label scores. */
  policyScores(labels: ReadonlyArray<{ label: string; score: number }>): Array<{ policyClass: PolicyClass; score: number }> {
    return this.policyClasses.map((policyClass) => {
      const wanted = new Set(policyClass.modelLabels.map((label) => label.toLowerCase()));
      const score = labels.filter((entry) => wanted.has(entry.label.toLowerCase())).reduce((sum, e) => sum + e.score, 0);
      return { policyClass, score: Math.min(1, score) };
    });
  }
}

/** Parses and validates a taxonomy document; throws an error naming every problem found. */
export function parseTaxonomy(document: unknown, source = 'taxonomy'): Taxonomy {
  const parsed = taxonomySchema.safeParse(document);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`invalid ${source}: ${problems.join('; ')}`);
  }
  return new Taxonomy(parsed.data);
}

let bundled: Taxonomy | undefined;

/** The taxonomy shipped in config/taxonomy.json (bundled into each Lambda), validated once per process. */
export function loadTaxonomy(): Taxonomy {
  bundled ??= parseTaxonomy(taxonomyFile, 'config/taxonomy.json');
  return bundled;
}
