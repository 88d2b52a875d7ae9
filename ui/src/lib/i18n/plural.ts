// Messages that count something: a wording per plural category of the locale.

export type Locale = 'en' | 'zh-CN';
export type Params = Record<string, string | number>;

/**
 * A message whose wording follows the number `{n}`: one form per plural category of the
 * locale (Intl.PluralRules: English has 'one' and 'other', Chinese only 'other').
 */
export type Plural = Partial<Record<Intl.LDMLPluralRule, string>> & { readonly other: string };
export type Message = string | Plural;

/** Every wording of a message (one for a plain string). */
export function messageForms(message: Message): string[] {
  return typeof message === 'string' ? [message] : Object.values(message).filter((f): f is string => typeof f === 'string');
}

/** The wording of `message` for `params.n` in `locale` ('other' when n is missing). */
export function pluralForm(locale: Locale, message: Message, params?: Params): string {
  if (typeof message === 'string') return message;
  const n = Number(params?.n);
  if (!Number.isFinite(n)) return message.other;
  return message[new Intl.PluralRules(locale).select(n)] ?? message.other;
}
