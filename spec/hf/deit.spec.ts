// HF DeiT distilled (TFDeiTForImageClassificationWithTeacher) through the real
// tensorflowjs_converter: class and distillation tokens both protected, three outputs keyed by
// tensor name in model.json (Identity = cls_logits, Identity_1 = distillation_logits,
// Identity_2 = logits).
import { describeHfFixture } from './hf_fixture';

describeHfFixture('deit-small', { architecture: 'deit', protectedTokens: 2, tokenCount: 66, blocks: 4 });
