/**
 * The sizes the cost model assumes for introspection's lists, read from the schema when the model is built:
 * what `__schema { types }` and `directives` return, and for each list a type, field or directive holds
 * (`fields`, `args`, `enumValues`, …) the mean over the schema. With the default size of 1 the introspection
 * query GraphiQL sends was priced at 71 points for a response of 657 (60 KB).
 *
 * Means, not maxima: an operation that walks the whole schema (`types { fields { … } }`, GraphiQL's query) is
 * then priced at about what it returns, since types × mean fields is every field. Maxima multiply out instead:
 * every type as wide as the widest, every field with the most arguments, 39,893 points for that 657-point
 * response, past MAX_COST. Where means fall short is a `__type(name:)` that picks the widest type, priced under
 * its size by the widest list over the mean at each fan-out, which nests twice at most (use-operation-limits):
 * `__type(name: "Query") { fields { type { fields { type { name } } } } }` is priced 21 and returns 65, under 1 KB.
 */
import {
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isWrappingType,
  type GraphQLSchema,
  type GraphQLType,
} from 'graphql';

/** Assumed sizes by `Parent.field` (`__Type.fields`), for the estimator to multiply by. */
export function introspectionSizes(schema: GraphQLSchema): ReadonlyMap<string, number> {
  const types = Object.values(schema.getTypeMap());
  const directives = schema.getDirectives();
  let fields = 0;
  let fieldArgs = 0;
  let inputFields = 0;
  let enumValues = 0;
  let interfaces = 0;
  let possibleTypes = 0;
  // Every place a type is referenced (a field's, an argument's, an interface…): how many wrappers each has.
  let references = 0;
  let wrappers = 0;
  const reference = (type: GraphQLType) => {
    references += 1;
    for (let at = type; isWrappingType(at); at = at.ofType) wrappers += 1;
  };

  for (const type of types) {
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        fields += 1;
        reference(field.type);
        for (const arg of field.args) {
          fieldArgs += 1;
          reference(arg.type);
        }
      }
      for (const implemented of type.getInterfaces()) {
        interfaces += 1;
        reference(implemented);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        inputFields += 1;
        reference(field.type);
      }
    } else if (isEnumType(type)) {
      enumValues += type.getValues().length;
    }
    if (isAbstractType(type)) {
      for (const possible of schema.getPossibleTypes(type)) {
        possibleTypes += 1;
        reference(possible);
      }
    }
  }
  let directiveArgs = 0;
  for (const directive of directives) {
    for (const arg of directive.args) {
      directiveArgs += 1;
      reference(arg.type);
    }
  }

  const perType = (count: number) => count / Math.max(1, types.length);
  return new Map([
    ['__Schema.types', types.length],
    ['__Schema.directives', directives.length],
    // Types without the list (a scalar's `fields` is null) count as empty: that is what `types { fields }` meets.
    ['__Type.fields', perType(fields)],
    ['__Type.inputFields', perType(inputFields)],
    ['__Type.enumValues', perType(enumValues)],
    ['__Type.interfaces', perType(interfaces)],
    ['__Type.possibleTypes', perType(possibleTypes)],
    ['__Field.args', fieldArgs / Math.max(1, fields)],
    ['__Directive.args', directiveArgs / Math.max(1, directives.length)],
    // `ofType` is a list of at most one: the type a wrapper wraps. Sized by the share of the types in a reference
    // that wrap another, the chain of nine GraphiQL asks for (p + p² + …) is priced at what a reference has on
    // average, wrappers / references, instead of nine objects.
    ['__Type.ofType', wrappers / (wrappers + references)],
  ]);
}
